/**
 * preflight: every check that needs no computation, located in the experiment file. Each fixture is made here: a tiny
 * random BERT (test/support/tiny-checkpoint.ts) with a 37-word vocab.txt, a two-class custom task as TSV files, and an
 * experiment file; each test breaks one thing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { preflight, requirePreflight, type PreflightProblem } from '../../../../src/engine/run/preflight';
import { runExperiment, validateSpecFile } from '../../../../src/engine/run/experiment';
import { loadSpec, parseSpec, SpecErrors, type ExperimentSpec } from '../../../../src/engine/spec';
import type { RunEvent } from '../../../../src/engine/report/types';
import { writeTinyCheckpoint } from '../../../support/tiny-checkpoint';

/** 37 entries: the vocabulary size of tiny-checkpoint's config. "greatly" is two tokens: great ##ly. */
const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'it', 'was', 'a', 'great', 'terrible', 'film', 'movie', 'good', 'bad',
  '.', ',', 'the', 'and', 'is', 'this', 'story', 'fun', 'dull', '##ly', '##s', 'very', 'not', 'so', 'acting', 'plot',
  'music', 'lovely', 'boring', 'cast', 'funny', 'slow', 'warm',
];
const POS = ['a great film', 'great fun', 'lovely music', 'a funny story', 'warm and funny', 'great acting', 'a lovely film', 'so much fun'];
const NEG = ['a dull film', 'boring plot', 'bad acting', 'a slow story', 'dull and slow', 'terrible music', 'a boring cast', 'not good'];

/** The experiment file; `over` replaces whole lines by their key (e.g. `{ data: 'data: ./nowhere' }`). */
function specText(over: Record<string, string> = {}, templates = TEMPLATES): string {
  const lines: Record<string, string> = {
    task: 'task: custom',
    columns: 'columns: {text_a: sentence, label: label}',
    labels: 'labels: ["0", "1"]',
    data: 'data: .',
    files: 'files: {train: train.tsv, dev: dev.tsv, test: test.tsv}',
    shots: 'shots: 4',
    seeds: 'seeds: [13]',
    model: 'model: ./model',
    max_length: 'max_length: 16',
    backend: 'backend: cpu',
    ...over,
  };
  return `${Object.values(lines).filter(Boolean).join('\n')}\n${templates}`;
}
const TEMPLATES = `templates:
  - name: it-was
    template: "*cls**sent_0*_it_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
`;

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} is in the file`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

describe('preflight: the checks of an experiment that need no computation', function () {
  this.timeout(60_000);
  let root: string;
  let n = 0;

  /** A fresh experiment folder (model/, train/dev/test.tsv, exp.ntk.yaml); returns the folder and the file. */
  async function experiment(text = specText()): Promise<{ dir: string; file: string; modelDir: string }> {
    const dir = path.join(root, `exp-${n++}`);
    const modelDir = path.join(dir, 'model');
    await writeTinyCheckpoint(modelDir, { modelType: 'bert' });
    fs.writeFileSync(path.join(modelDir, 'vocab.txt'), VOCAB.join('\n') + '\n');
    const rows = (pos: string[], neg: string[]) => ['sentence\tlabel', ...pos.map((s) => `${s}\t1`), ...neg.map((s) => `${s}\t0`)].join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'train.tsv'), rows(POS.slice(0, 4), NEG.slice(0, 4)));
    fs.writeFileSync(path.join(dir, 'dev.tsv'), rows(POS.slice(4), NEG.slice(4)));
    fs.writeFileSync(path.join(dir, 'test.tsv'), rows(POS, NEG));
    const file = path.join(dir, 'exp.ntk.yaml');
    fs.writeFileSync(file, text);
    return { dir, file, modelDir };
  }

  /** The spec as `validate` parses it (no path checks) and preflight's problems. */
  async function problemsOf(file: string, opts: Parameters<typeof preflight>[1] = {}): Promise<{ spec: ExperimentSpec; problems: PreflightProblem[] }> {
    const parsed = parseSpec(fs.readFileSync(file, 'utf8'), file, { checkPaths: false });
    assert.ok(parsed.spec, parsed.errors.map((e) => e.message).join('\n'));
    return { spec: parsed.spec, problems: await preflight(parsed.spec, opts) };
  }

  const errors = (ps: PreflightProblem[]) => ps.filter((p) => p.severity === 'error');

  before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-preflight-')); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds no problem in a sound experiment', async () => {
    const { file } = await experiment();
    const { problems } = await problemsOf(file);
    assert.deepEqual(problems, []);
  });

  it('reads only the safetensors header: a checkpoint with a 2 GiB (sparse) extra tensor passes at once', async () => {
    const { file, modelDir } = await experiment();
    const weights = path.join(modelDir, 'model.safetensors');
    const bytes = fs.readFileSync(weights);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    const data = bytes.subarray(8 + n);
    const big = 2 ** 31;
    // The pooler is a tensor the masked LM ignores: its shape does not matter, only its byte range.
    header['bert.pooler.dense.weight'] = { dtype: 'F32', shape: [big / 4], data_offsets: [data.length, data.length + big] };
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(weights, Buffer.concat([head, Buffer.from(json), data]));
    fs.truncateSync(weights, 8 + json.length + data.length + big); // sparse: nothing written
    const t0 = Date.now();
    const { problems } = await problemsOf(file);
    assert.deepEqual(problems, []);
    assert.ok(Date.now() - t0 < 5000, `preflight took ${Date.now() - t0} ms: it must not read the 2 GiB of weights`);
  });

  describe('data', () => {
    it('a data folder that does not exist is an error at the `data` key', async () => {
      const text = specText({ data: 'data: ./nowhere' });
      const { file } = await experiment(text);
      const [p, ...rest] = errors((await problemsOf(file)).problems);
      assert.equal(rest.length, 0);
      assert.match(p.message, /Data folder not found: .*nowhere/);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, './nowhere'));
    });

    it('a k-shot split folder missing for one of the seeds (LM-BFF layout, no pool) is an error naming that seed, at `data`', async () => {
      const text = `task: SST-2\ndata: ./SST-2\nshots: 16\nseeds: [13, 21]\nmodel: ./model\n`;
      const { dir, file } = await experiment(text);
      const split = path.join(dir, 'SST-2', 'k-shot', '16-13');
      fs.mkdirSync(split, { recursive: true });
      for (const f of ['train.tsv', 'dev.tsv', 'test.tsv']) fs.writeFileSync(path.join(split, f), 'sentence\tlabel\na great film\t1\na dull film\t0\n');
      const [p, ...rest] = errors((await problemsOf(file)).problems);
      assert.equal(rest.length, 0, rest.map((r) => r.message).join('\n'));
      assert.match(p.message, /seed 21/);
      assert.match(p.message, /k-shot[/\\]16-21/);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, './SST-2'));
    });

    it("a custom task's missing dev file is an error at the `files` key; a malformed row likewise, naming file:line", async () => {
      const { dir, file } = await experiment();
      fs.rmSync(path.join(dir, 'dev.tsv'));
      const [p] = errors((await problemsOf(file)).problems);
      assert.match(p.message, /Data file not found: .*dev\.tsv/);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(specText(), '{train: train.tsv'));
      fs.writeFileSync(path.join(dir, 'dev.tsv'), 'sentence\tlabel\na fine film\tmaybe\n');
      const [q] = errors((await problemsOf(file)).problems);
      assert.match(q.message, /dev\.tsv:2: unknown label 'maybe'/);
      assert.equal(q.line, p.line);
    });
  });

  describe('checkpoint (at the `model` key, from config.json, the safetensors headers and the tokenizer files)', () => {
    const at = positionOf(specText(), './model');
    const cases: { what: string; breakIt: (modelDir: string) => void; message: RegExp }[] = [
      {
        what: 'only a PyTorch pickle (.bin) and no safetensors',
        breakIt: (d) => { fs.rmSync(path.join(d, 'model.safetensors')); fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'pickle'); },
        message: /refusing to load a PyTorch pickle file/,
      },
      {
        what: 'a truncated model.safetensors (tensor byte ranges beyond the file)',
        breakIt: (d) => { const f = path.join(d, 'model.safetensors'); fs.truncateSync(f, fs.statSync(f).size - 100); },
        message: /not a valid safetensors file \(tensor ".*" ends at byte \d+ of the data section, which has only \d+ bytes\)/,
      },
      {
        what: 'a header length beyond the file',
        breakIt: (d) => { const f = path.join(d, 'model.safetensors'); const b = fs.readFileSync(f); b.writeBigUInt64LE(BigInt(b.length)); fs.writeFileSync(f, b); },
        message: /not a valid safetensors file \(header length \d+ exceeds the \d+ bytes after it\)/,
      },
      {
        what: 'a tensor missing with respect to config.json',
        breakIt: (d) => editHeader(d, (h) => { delete h['bert.encoder.layer.1.output.dense.bias']; }),
        message: /missing tensor "bert\.encoder\.layer\.1\.output\.dense\.bias" with shape \[16\]/,
      },
      {
        what: 'a tensor shaped otherwise than config.json says',
        breakIt: (d) => { const f = path.join(d, 'config.json'); const c = JSON.parse(fs.readFileSync(f, 'utf8')); c.intermediate_size = 32; fs.writeFileSync(f, JSON.stringify(c)); },
        message: /tensor "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[24, 16\], expected \[32, 16\] from config\.json/,
      },
      {
        what: 'no config.json',
        breakIt: (d) => fs.rmSync(path.join(d, 'config.json')),
        message: /config\.json: not found/,
      },
      {
        what: 'no tokenizer files',
        breakIt: (d) => fs.rmSync(path.join(d, 'vocab.txt')),
        message: /No tokenizer in .*model: looked for tokenizer\.json, vocab\.txt/,
      },
    ];
    for (const c of cases) {
      it(`${c.what} is an error at \`model\``, async () => {
        const { file, modelDir } = await experiment();
        c.breakIt(modelDir);
        const errs = errors((await problemsOf(file)).problems);
        assert.ok(errs.some((p) => c.message.test(p.message) && p.line === at.line && p.column === at.column), errs.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
      });
    }

    it('a model folder that does not exist is an error at `model`', async () => {
      const text = specText({ model: 'model: ./no-model' });
      const { file } = await experiment(text);
      const [p] = errors((await problemsOf(file)).problems);
      assert.match(p.message, /Model folder not found: .*no-model/);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, './no-model'));
    });

    it('a Hub model that is not in the local cache is an info (run downloads it), not an error; nothing is fetched', async () => {
      const text = specText({ model: 'model: some-org/not-cached-model' });
      const { file } = await experiment(text);
      const { problems } = await problemsOf(file, { hubCacheDir: path.join(root, 'empty-hub-cache') });
      assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
      assert.equal(problems[0].severity, 'info');
      assert.match(problems[0].message, /not in the local Hugging Face cache yet: run downloads it/);
      assert.deepEqual({ line: problems[0].line, column: problems[0].column }, positionOf(text, 'some-org'));
    });

    it('max_length beyond the position embeddings is a warning at `max_length`, not an error', async () => {
      const text = specText({ max_length: 'max_length: 32' });
      const { file } = await experiment(text);
      const { problems } = await problemsOf(file);
      assert.equal(problems.length, 1);
      assert.equal(problems[0].severity, 'warning');
      assert.match(problems[0].message, /max_length 32 is more than the model takes \(max_position_embeddings 20/);
      assert.deepEqual({ line: problems[0].line, column: problems[0].column }, positionOf(text, '32'));
    });
  });

  describe('templates (with the tokenizer only)', () => {
    it('a label word that is several tokens is an error at that word', async () => {
      const text = specText({}, TEMPLATES.replace('"1": great', '"1": greatly'));
      const { file } = await experiment(text);
      const [p, ...rest] = errors((await problemsOf(file)).problems);
      assert.equal(rest.length, 0);
      assert.match(p.message, /template 'it-was': Label word "greatly" is 2 tokens .*great \| ##ly/);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, 'greatly'));
    });

    it('every bad label word is reported, and two classes with one word once the words are single tokens', async () => {
      const many = specText({}, TEMPLATES.replace('{"0": terrible, "1": great}', '{"0": terribly, "1": greatly}'));
      const { file } = await experiment(many);
      assert.equal(errors((await problemsOf(file)).problems).length, 2);
      const same = specText({}, TEMPLATES.replace('{"0": terrible, "1": great}', '{"0": great, "1": great}'));
      fs.writeFileSync(file, same);
      const [p] = errors((await problemsOf(file)).problems);
      assert.match(p.message, /Classes 0 and 1 have the same label word/);
    });

    it('a template error is located at its character in the file', async () => {
      const text = specText({}, TEMPLATES.replace('*sent_0*_it_was', '*sent_3*_it_was'));
      const { file } = await experiment(text);
      const [p] = errors((await problemsOf(file)).problems);
      assert.match(p.message, /template 'it-was': \*sent_3\* refers to sentence 3/);
      assert.deepEqual({ line: p.line, column: p.column, endColumn: p.endColumn }, { ...positionOf(text, 'sent_3'), endColumn: positionOf(text, 'sent_3').column + 6 });
    });

    it('unknown --template names are an error at `templates`; only the named templates are checked', async () => {
      const text = specText({}, `${TEMPLATES}  - name: bad-word\n    template: "*cls**sent_0*_it_was*mask*.*sep+*"\n    words: {"0": terrible, "1": greatly}\n`);
      const { file } = await experiment(text);
      const unknown = errors((await problemsOf(file, { templates: ['it-was', 'nope'] })).problems);
      assert.equal(unknown.length, 1, 'the bad-word template is not selected, so not checked');
      assert.match(unknown[0].message, /--template: no template named 'nope'; the file has it-was, bad-word/);
      assert.deepEqual({ line: unknown[0].line, column: unknown[0].column }, { line: positionOf(text, 'templates:').line + 1, column: 3 });
      assert.equal(errors((await problemsOf(file)).problems).length, 1, 'without --template every template is checked');
    });
  });

  describe('callers', () => {
    it('requirePreflight throws SpecErrors with the errors only, and returns the warnings', async () => {
      const { file, modelDir } = await experiment(specText({ max_length: 'max_length: 32' }));
      const spec = loadSpec(file);
      assert.deepEqual((await requirePreflight(spec)).map((p) => p.severity), ['warning']);
      fs.rmSync(path.join(modelDir, 'vocab.txt'));
      await assert.rejects(requirePreflight(spec), (e: unknown) => e instanceof SpecErrors && e.errors.length === 1 && /error: No tokenizer/.test(e.message));
    });

    it('runExperiment rejects with located SpecErrors before loading the model or computing anything', async () => {
      const { file, modelDir } = await experiment();
      editHeader(modelDir, (h) => { delete h['cls.predictions.bias']; });
      const events: RunEvent[] = [];
      await assert.rejects(runExperiment(file, { onEvent: (e) => events.push(e), resultsDir: path.join(root, 'never') }),
        (e: unknown) => e instanceof SpecErrors && /exp\.ntk\.yaml:\d+:\d+: error: .*missing tensor "cls\.predictions\.bias"/.test(e.message));
      assert.deepEqual(events, [], 'no phase started');
      assert.ok(!fs.existsSync(path.join(root, 'never')));
    });

    it('validateSpecFile (the editor and `ntk-lens validate`) includes preflight problems, with their severity', async () => {
      const text = specText({ data: 'data: ./nowhere', max_length: 'max_length: 32' });
      const { file } = await experiment(text);
      const { diagnostics } = await validateSpecFile(file, text);
      assert.deepEqual(diagnostics.map((d) => d.severity).sort(), ['error', 'warning']);
      assert.ok(diagnostics.every((d) => !('file' in d)));
    });
  });
});

/** Rewrites the JSON header of model.safetensors (keeping the data section as it is). */
function editHeader(modelDir: string, edit: (header: Record<string, unknown>) => void): void {
  const f = path.join(modelDir, 'model.safetensors');
  const b = fs.readFileSync(f);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(f, Buffer.concat([head, json, b.subarray(8 + n)]));
}
