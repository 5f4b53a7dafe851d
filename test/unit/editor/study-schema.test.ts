/**
 * schemas/ntk-study.schema.json (what the YAML extension checks in *.ntk-study.yaml) and the engine's study parser
 * (parseStudy, what the diagnostics and the CLI report) accept and reject the same files; the keys shared with the
 * experiment file are copies of schemas/ntk.schema.json's and must stay equal to them.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { OVERRIDE_KEYS, parseStudy, STUDY_KEYS } from '../../../src/engine/study/study-file';
import { paperStudyText } from '../../../src/engine/study/init';

const ROOT = path.resolve(__dirname, '../../..');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', f), 'utf8'));
const STUDY = read('ntk-study.schema.json');
const NTK = read('ntk.schema.json');

describe('schemas/ntk-study.schema.json agrees with parseStudy', () => {
  const validate = new Ajv({ allErrors: true }).compile(STUDY);
  let dir: string;
  let file: string;
  before(() => {
    // data/ and a model folder exist, so that parseStudy's path checks pass where the schema cannot look
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-study-schema-'));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.mkdirSync(path.join(dir, 'model'));
    file = path.join(dir, 'x.ntk-study.yaml');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const schemaOk = (text: string) => validate(parseYaml(text)) as boolean;
  const parserErrors = (text: string) => parseStudy(text, file).errors.filter(e => e.severity === 'error');

  const base = 'model: ntk-mini\ndata: data\n';
  const good: Record<string, string> = {
    'a minimal file (model and data)': base,
    'the whole grid with every key': `model: [ntk-mini, ./model]\ndata: data\ntasks: [SST-2, sst-5, mr, ag_news, MNLI]\nshots: [16, 32]\nseeds: [13, 21]\n` +
      'modes: [prompt, standard]\ntest_limit: 100\ndev_limit: 32\nmax_length: 128\nbackend: wasm\n' +
      'finetune: {optimizer: sgd, learning_rate: [1.0e-3, 1.0e-2], steps: 10, batch_size: 4, eval_every: 5, dropout: false}\n' +
      'kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq, parameters: all}\n' +
      'overrides:\n  sst-5: {max_length: 64, test_limit: 50}\n  mr: {template: "*cls**sent_0*_It_was*mask*.*sep+*", words: {"0": terrible, "1": great}}\n',
    'single values for shots, seeds and modes': `${base}shots: 8\nseeds: 13\nmodes: prompt\n`,
    'task names in any case': `${base}tasks: [sst-2, MR, AGNEWS]\n`,
  };
  for (const [what, text] of Object.entries(good)) {
    it(`both accept ${what}`, () => {
      assert.ok(schemaOk(text), JSON.stringify(validate.errors));
      assert.deepEqual(parserErrors(text).map(e => `${e.line}:${e.column} ${e.message}`), []);
    });
  }
  it("both accept `ntk-lens study init`'s file (data and model made to exist)", () => {
    const text = paperStudyText({ model: 'ntk-mini', data: 'data' });
    assert.ok(schemaOk(text), JSON.stringify(validate.errors));
    assert.deepEqual(parserErrors(text), []);
  });

  const bad: Record<string, string> = {
    'no model': 'data: data\n',
    'no data': 'model: ntk-mini\n',
    'an unknown top-level key': `${base}seedz: [1]\n`,
    'an experiment-only key (templates)': `${base}templates: [{name: manual}]\n`,
    'an unknown task': `${base}tasks: [SST-3]\n`,
    'the custom task': `${base}tasks: [custom]\n`,
    'an empty task list': `${base}tasks: []\n`,
    'a task listed twice': `${base}tasks: [mr, mr]\n`,
    'shots: 0': `${base}shots: 0\n`,
    'a seed listed twice': `${base}seeds: [13, 13]\n`,
    'a negative seed': `${base}seeds: [-1]\n`,
    'an unknown mode': `${base}modes: [prompt, few-shot]\n`,
    'a misspelt finetune key': `${base}finetune: {learning-rate: 0.1}\n`,
    'an unknown solver': `${base}kernel: {solver: lstq}\n`,
    'an unknown override key': `${base}tasks: [mr]\noverrides:\n  mr: {steps: 3}\n`,
    'an override of an unknown task': `${base}tasks: [mr]\noverrides:\n  mrr: {max_length: 64}\n`,
    'an override template without words': `${base}tasks: [mr]\noverrides:\n  mr: {template: "*cls**sent_0**mask*"}\n`,
    'a model that is not a string': `model: 3\ndata: data\n`,
  };
  for (const [what, text] of Object.entries(bad)) {
    it(`both reject ${what}`, () => {
      assert.equal(schemaOk(text), false, 'the schema accepted it');
      assert.ok(parserErrors(text).length > 0, 'parseStudy accepted it');
    });
  }

  it('finetune, kernel, the limits, backend and the override keys are copies of ntk.schema.json', () => {
    for (const k of ['finetune', 'kernel', 'test_limit', 'dev_limit', 'max_length', 'backend']) assert.deepEqual(STUDY.properties[k], NTK.properties[k], k);
    const o = STUDY.definitions.override.properties;
    for (const k of ['max_length', 'first_sent_limit', 'other_sent_limit', 'test_limit', 'dev_limit']) assert.deepEqual(o[k], NTK.properties[k], k);
    for (const k of ['template', 'words']) assert.deepEqual(o[k], NTK.definitions.template.properties[k], k);
    assert.equal(STUDY.definitions.task.pattern, NTK.properties.task.pattern.replace('|[cC][uU][sS][tT][oO][mM]', ''), 'the task names, less custom');
  });

  it('lora_rank without parameters: lora: the schema and parseStudy both reject it, at the key', () => {
    const text = `${base}tasks: [mr]\nkernel: {lora_rank: 4}\n`;
    assert.equal(schemaOk(text), false);
    const r = parseStudy(text, file);
    assert.equal(r.study, undefined);
    assert.deepEqual(r.errors.map((e) => [e.line, e.message]), [[text.split('\n').findIndex((l) => l.includes('lora_rank')) + 1, "'lora_rank' is only used with 'parameters: lora'."]]);
  });

  it('lists exactly the keys the parser knows (STUDY_KEYS, OVERRIDE_KEYS)', () => {
    assert.deepEqual(Object.keys(STUDY.properties).sort(), [...STUDY_KEYS].sort());
    assert.deepEqual(Object.keys(STUDY.definitions.override.properties).sort(), [...OVERRIDE_KEYS].sort());
  });

  it('package.json gives *.ntk-study.yaml its language, this schema, activation and the study commands', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const c = pkg.contributes;
    assert.ok(c.languages.some((l: { id: string; extensions: string[] }) => l.id === 'ntk-study' && l.extensions.includes('.ntk-study.yaml')));
    assert.ok(c.grammars.some((g: { language: string }) => g.language === 'ntk-study'));
    assert.ok(c.yamlValidation.some((v: { fileMatch: string[]; url: string }) => v.fileMatch.includes('*.ntk-study.yaml') && v.url === './schemas/ntk-study.schema.json'));
    assert.ok(pkg.activationEvents.includes('onLanguage:ntk-study') && pkg.activationEvents.includes('workspaceContains:**/*.ntk-study.yaml'));
    const cmd = (id: string) => c.commands.find((x: { command: string }) => x.command === id);
    for (const id of ['runStudy', 'submitStudy', 'openStudyTable', 'exportStudyTable']) assert.ok(cmd(`ntkLens.${id}`), id);
    assert.equal(cmd('ntkLens.runStudy').enablement, 'isWorkspaceTrusted');
    assert.equal(cmd('ntkLens.submitStudy').enablement, 'isWorkspaceTrusted');
  });
});
