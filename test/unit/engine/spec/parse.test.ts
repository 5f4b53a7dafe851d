import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSpec, SPEC_DEFAULTS } from '../../../../src/engine/spec/parse';
import { SpecError } from '../../../../src/engine/spec/types';

describe('spec/parseSpec', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-spec-'));
    fs.mkdirSync(path.join(dir, 'data', 'SST-2'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'models', 'tiny'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'exp'));
    file = path.join(dir, 'exp', 'sst2.ntk.yaml');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The (line, column, message-fragment) triples of the errors. */
  const errs = (text: string): SpecError[] => parseSpec(text, file).errors;
  const one = (text: string): SpecError => {
    const e = errs(text);
    assert.equal(e.length, 1, e.map((x) => `${x.line}:${x.column} ${x.message}`).join('\n'));
    return e[0];
  };
  const base = 'task: SST-2\ndata: ../data/SST-2\n';

  it('learning_rate: one number or a grid; without it, the optimizer\'s default grid', () => {
    const lr = (ft: string) => parseSpec(`${base}finetune: ${ft}\n`, file).spec!.finetune.learningRates;
    assert.deepEqual(lr('{learning_rate: 1.0e-3}'), [1e-3]);
    assert.deepEqual(lr('{learning_rate: [1.0e-4, 1.0e-3]}'), [1e-4, 1e-3]);
    assert.deepEqual(lr('{optimizer: adam}'), [1e-5, 1e-4, 1e-3]);
    assert.deepEqual(lr('{optimizer: sgd}'), [1e-3, 1e-2, 1e-1]);
    const e = one(`${base}finetune: {learning_rate: [1.0e-3, 0]}\n`);
    assert.deepEqual([e.line, e.column], [3, 36]);
    assert.match(e.message, /A learning rate must be a number > 0/);
    assert.match(one(`${base}finetune: {learning_rate: [1.0e-3, 1.0e-3]}\n`).message, /listed twice/);
  });

  it('a template may set its own parameter set; lora_rank is accepted when any template uses lora', () => {
    const text = `${base}kernel: {lora_rank: 4}\ntemplates:\n  - name: manual\n  - name: lora-run\n    template: "*cls**sent_0**mask*.*sep+*"\n    words: {"0": bad, "1": good}\n    parameters: lora\n`;
    const spec = parseSpec(text, file).spec!;
    assert.deepEqual(spec.templates.map((t) => t.parameters), [undefined, 'lora']);
    assert.equal(spec.kernel.loraRank, 4);
    assert.match(one(`${base}kernel: {lora_rank: 4}\n`).message, /'lora_rank' is only used with 'parameters: lora'/);
    assert.match(one(`${base}templates:\n  - name: manual\n    parameters: heads\n`).message, /'parameters' must be one of all, no-embeddings, head, biases, lora; got 'heads'/);
  });

  it('parses the example of the format, resolves paths from the file folder and fills every default', () => {
    const text = `${base}shots: 16
seeds: [13, 21]
model: ../models/tiny
finetune: {optimizer: sgd, learning_rate: 1.0e-4, steps: 1000, batch_size: 8}
kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq, parameters: all}
templates:
  - name: manual
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
  - name: standard
`;
    const { spec, errors } = parseSpec(text, file);
    assert.deepEqual(errors, []);
    assert.ok(spec);
    assert.equal(spec.data, path.join(dir, 'data', 'SST-2'));
    assert.deepEqual(spec.model, { kind: 'path', path: path.join(dir, 'models', 'tiny') });
    assert.deepEqual(spec.seeds, [13, 21]);
    assert.equal(spec.maxLength, 128);
    assert.equal(spec.testSet, '1k');
    assert.deepEqual(spec.finetune, { ...SPEC_DEFAULTS.finetune, optimizer: 'sgd', learningRates: [1e-4], steps: 1000, batchSize: 8 });
    assert.deepEqual(spec.kernel.kinds, ['sgd', 'asymmetric-signgd']);
    assert.equal(spec.kernel.untieDecoder, false, "default: follow the checkpoint's tie_word_embeddings");
    assert.deepEqual(spec.templates.map((t) => [t.name, t.mode, t.labelWords]), [['manual', 'prompt', ['terrible', 'great']], ['standard', 'standard', undefined]]);
  });

  it('records the ranges of each template item, its template value (and text offset) and each label word', () => {
    const text = `${base}templates:\n  - name: mine\n    template: "*cls**sent_0*_It_was*mask*.*sep+*"\n    words: {"0": bad, "1": good}\n`;
    const { spec } = parseSpec(text, file);
    assert.ok(spec);
    const r = spec.templates[0].ranges;
    assert.deepEqual([r.item.line, r.item.column, r.item.endLine], [4, 5, 6]);
    assert.deepEqual([r.name.line, r.name.column, r.name.endColumn], [4, 11, 15]);
    assert.deepEqual([r.template?.line, r.template?.column], [5, 15]);
    assert.equal(text.slice(r.templateText?.offset, (r.templateText?.offset ?? 0) + 5), '*cls*');
    assert.equal(r.templateText?.exact, true);
    assert.deepEqual([r.words['1'].line, r.words['1'].column, r.words['1'].endColumn], [6, 28, 32]);
    assert.equal(text.slice(r.words['0'].offset, r.words['0'].endOffset), 'bad');
  });

  it("uses the task's LM-BFF template and words for '- name: manual' alone, and the task's max_length / limits", () => {
    fs.mkdirSync(path.join(dir, 'data', 'MNLI'), { recursive: true });
    const { spec } = parseSpec('task: mnli\ndata: ../data/MNLI\ntemplates:\n  - name: manual\n', file);
    assert.ok(spec);
    assert.equal(spec.task.name, 'MNLI');
    assert.deepEqual([spec.maxLength, spec.firstSentLimit], [256, 240]);
    assert.equal(spec.templates[0].template, '*cls**sent-_0*?*mask*,*+sentl_1**sep+*');
    assert.deepEqual(spec.templates[0].labelWords, ['No', 'Yes', 'Maybe']);
    assert.equal(spec.templates[0].fromTaskDefault, true);
  });

  it('unknown keys are errors at the key with a did-you-mean hint', () => {
    const e = one(`${base}finetune:\n  learning-rate: 0.1\n`);
    assert.deepEqual([e.line, e.column, e.endColumn], [4, 3, 16]);
    assert.match(e.message, /Unknown key 'learning-rate' in 'finetune'\. Did you mean 'learning_rate'\?/);
    assert.match(one(`${base}seedz: [1]\n`).message, /Did you mean 'seeds'\?/);
  });

  it('bad values are errors at the value: type, range, enum (with hint), duplicates', () => {
    assert.deepEqual(((e) => [e.line, e.column, e.message])(one(`${base}shots: 0\n`)), [3, 8, "'shots' must be an integer ≥ 1."]);
    assert.match(one(`${base}kernel: {solver: lstq}\n`).message, /must be one of lstsq, logistic, asym-svm; got 'lstq'\. Did you mean 'lstsq'\?/);
    assert.match(one(`${base}finetune: {learning_rate: fast}\n`).message, /'learning_rate' must be a number > 0 \(got the text 'fast'\)/);
    const dup = one(`${base}seeds: [1, 2, 1]\n`);
    assert.deepEqual([dup.line, dup.column, dup.message], [3, 15, 'Seed 1 is listed twice.']);
    assert.match(one('task: SST2x\ndata: ../data/SST-2\n').message, /Unknown task 'SST2x'\. Did you mean 'SST-2'\?/);
  });

  it('template problems point at the template, the words or the name', () => {
    const noMask = one(`${base}templates:\n  - name: t\n    template: "*cls**sent_0*"\n    words: {"0": a, "1": b}\n`);
    assert.deepEqual([noMask.line, noMask.column], [5, 15]);
    const badLabel = one(`${base}templates:\n  - name: t\n    template: "*cls**mask*"\n    words: {"0": a, "2": b}\n`);
    assert.deepEqual([badLabel.line, badLabel.column], [6, 21]);
    assert.match(badLabel.message, /Unknown label '2' for task 'SST-2'/);
    assert.match(one(`${base}templates:\n  - name: t\n    template: "*cls**mask*"\n    words: {"0": a}\n`).message, /no word for label 1/);
    assert.match(one(`${base}templates:\n  - name: t\n    template: "*cls**mask*"\n    words: {"0": a b, "1": c}\n`).message, /one word without spaces/);
    const twice = one(`${base}templates:\n  - name: a\n  - name: a\n`);
    assert.deepEqual([twice.line, twice.column], [5, 11]);
    assert.match(one(`${base}templates:\n  - name: std\n    words: {"0": a, "1": b}\n`).message, /'words' without a 'template'/);
  });

  it('returns all errors at once, sorted by position, and no spec', () => {
    const r = parseSpec('task: SST-2\ndata: ./missing\nshots: -1\nkernel: {kinds: [sgdd]}\nbackend: gpu\n', file);
    assert.equal(r.spec, undefined);
    assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 5]);
    assert.match(r.errors[0].message, new RegExp(`Data folder not found: ${path.join(dir, 'exp', 'missing').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`));
  });

  it('reports YAML syntax errors and missing required keys with positions', () => {
    const syntax = parseSpec('task: SST-2\ndata: [unclosed\n', file).errors;
    assert.ok(syntax.length >= 1 && syntax[0].message.startsWith('YAML:') && syntax[0].line >= 2, JSON.stringify(syntax));
    const missing = errs('shots: 16\n');
    assert.deepEqual(missing.map((e) => [e.line, e.message.slice(0, 14)]), [[1, "Missing 'task'"], [1, "Missing 'data'"]]);
    assert.match(errs('')[0].message, /empty/);
  });

  it("validates a custom task's columns/labels/files and rejects those keys for a built-in task", () => {
    fs.mkdirSync(path.join(dir, 'data', 'mine'), { recursive: true });
    const ok = parseSpec(`task: custom\ndata: ../data/mine\ncolumns: {text_a: review, label: stars}\nlabels: [neg, pos]\nfiles: {train: train.tsv, dev: dev.tsv, test: test.tsv}\nmetrics: [acc, f1]\ntemplates:\n  - name: t\n    template: "*cls**sent_0*_It_was*mask*.*sep+*"\n    words: {neg: bad, pos: good}\n`, file);
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.spec?.task.labels, ['neg', 'pos']);
    assert.deepEqual(ok.spec?.task.layout, { kind: 'tsv', header: true, columns: { textA: 'review', textB: undefined, label: 'stars' }, rowWidth: 'header' });
    assert.deepEqual(ok.spec?.task.metrics, ['acc', 'f1']);
    const missing = errs('task: custom\ndata: ../data/mine\nlabels: [a, b]\n');
    assert.deepEqual(missing.map((e) => e.message.slice(0, 31)), ["'task: custom' needs 'columns':", "'task: custom' needs 'files': t"]);
    const manual = one('task: custom\ndata: ../data/mine\ncolumns: {text_a: 0, label: 1}\nlabels: [a, b]\nfiles: {train: t.csv, dev: d.csv, test: e.csv}\ntemplates:\n  - name: manual\n');
    assert.deepEqual([manual.line, manual.column], [7, 11]);
    assert.match(manual.message, /no default 'manual' template/);
    const builtin = one(`${base}labels: [a, b]\n`);
    assert.deepEqual([builtin.line, builtin.message], [3, "'labels' is only for 'task: custom' (a built-in task has its own labels)."]);
  });

  it('tells Hub ids from local paths and checks that a local model folder exists', () => {
    assert.deepEqual(parseSpec(`${base}model: roberta-base\n`, file).spec?.model, { kind: 'hub', id: 'roberta-base' });
    assert.deepEqual(parseSpec(`${base}model: FacebookAI/roberta-base\n`, file).spec?.model, { kind: 'hub', id: 'FacebookAI/roberta-base' });
    assert.match(one(`${base}model: ./no-such-model\n`).message, /Model folder not found/);
  });
});
