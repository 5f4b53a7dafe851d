import { stub } from '../../support/vscode-stub';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lmBffSpec, writeExample } from '../../../src/editor/example';
import { parseSpec } from '../../../src/engine/spec';

const DATA = path.resolve(__dirname, '../../../../shared/data/lm-bff');
const ROOT = path.resolve(__dirname, '../../..');

describe('"Open example" writes experiment files the engine accepts', () => {
  beforeEach(() => stub.reset());

  it('the quickstart copy is a valid experiment on the built-in model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-example-'));
    try {
      const file = writeExample(ROOT, path.join(dir, 'ws'), 'quickstart');
      const { spec, errors } = parseSpec(fs.readFileSync(file, 'utf8'), file);
      assert.deepEqual(errors, []);
      assert.equal(spec!.model.kind, 'builtin');
      assert.ok(fs.existsSync(path.join(dir, 'ws', 'data', 'train.tsv')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const task of ['SST-2', 'mr', 'cr', 'subj', 'trec', 'RTE']) {
    it(`the ${task} file gets the task's LM-BFF manual template and words from the engine, and the standard baseline`, function () {
      if (!fs.existsSync(path.join(DATA, task))) this.skip();
      const file = path.join(os.tmpdir(), `${task}.ntk.yaml`);
      const { spec, errors } = parseSpec(lmBffSpec(task, DATA), file);
      assert.deepEqual(errors, []);
      const manual = spec!.templates.find((t) => t.name === 'manual')!;
      assert.equal(manual.mode, 'prompt');
      assert.ok(manual.fromTaskDefault && manual.template!.includes('*mask*'));
      assert.equal(manual.labelWords!.length, spec!.task.labels.length);
      assert.equal(spec!.templates.find((t) => t.name === 'standard')!.mode, 'standard');
    });
  }
});
