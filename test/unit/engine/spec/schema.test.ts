import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { parseSpec } from '../../../../src/engine/spec/parse';

const ROOT = path.resolve(__dirname, '../../../..');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'ntk.schema.json'), 'utf8')) as object;
const EXAMPLES = path.join(ROOT, 'schemas', 'examples');

describe('schemas/ntk.schema.json agrees with parseSpec', () => {
  const validate = new Ajv({ allErrors: true }).compile(SCHEMA);
  const schemaOk = (text: string): boolean => validate(parseYaml(text)) as boolean;
  const specOk = (text: string, file = path.join(EXAMPLES, 'x.ntk.yaml')): boolean => parseSpec(text, file, { checkPaths: false }).errors.length === 0;

  const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.ntk.yaml'));
  it('has example files to check', () => assert.ok(examples.length >= 3, examples.join()));
  for (const name of examples) {
    it(`accepts the example ${name} (schema and validator)`, () => {
      const text = fs.readFileSync(path.join(EXAMPLES, name), 'utf8');
      assert.ok(schemaOk(text), JSON.stringify(validate.errors));
      assert.deepEqual(parseSpec(text, path.join(EXAMPLES, name), { checkPaths: false }).errors, []);
    });
  }

  const base = 'task: SST-2\ndata: ../data\n';
  const bad: Record<string, string> = {
    'an unknown top-level key': `${base}seedz: [1]\n`,
    'a misspelt finetune key': `${base}finetune: {learning-rate: 0.1}\n`,
    'shots: 0': `${base}shots: 0\n`,
    'a negative learning rate': `${base}finetune: {learning_rate: -1}\n`,
    'an unknown solver': `${base}kernel: {solver: lstq}\n`,
    'a repeated kernel kind': `${base}kernel: {kinds: [sgd, sgd]}\n`,
    'lora_rank without parameters: lora': `${base}kernel: {lora_rank: 4}\n`,
    'a template without *mask*': `${base}templates:\n  - name: t\n    template: "*cls**sent_0*"\n    words: {"0": a, "1": b}\n`,
    'a template item without a name': `${base}templates:\n  - template: "*cls**mask*"\n`,
    'words without a template': `${base}templates:\n  - name: s\n    words: {"0": a, "1": b}\n`,
    'a label word with a space': `${base}templates:\n  - name: t\n    template: "*cls**mask*"\n    words: {"0": a b, "1": c}\n`,
    'custom keys on a built-in task': `${base}labels: [a, b]\n`,
    'a custom task without files': 'task: custom\ndata: d\ncolumns: {text_a: a, label: b}\nlabels: [x, y]\ntemplates: [{name: s}]\n',
    'a missing data key': 'task: SST-2\n',
    'an unknown task': 'task: SST-3\ndata: d\n',
  };
  for (const [what, text] of Object.entries(bad)) {
    it(`both reject ${what}`, () => {
      assert.equal(schemaOk(text), false, 'schema accepted it');
      assert.equal(specOk(text), false, 'parseSpec accepted it');
    });
  }

  it('both accept a minimal file and task names in any case', () => {
    for (const text of ['task: SST-2\ndata: d\n', 'task: ag_news\ndata: d\n', 'task: sst-2\ndata: d\ntest_set: full\n']) {
      assert.ok(schemaOk(text), `${text}: ${JSON.stringify(validate.errors)}`);
      assert.ok(specOk(text), text);
    }
  });
});
