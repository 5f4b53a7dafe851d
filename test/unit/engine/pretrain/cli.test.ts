import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRETRAIN_USAGE, parsePretrainArgs, resolveInit } from '../../../../src/engine/pretrain/cli';

describe('pretrain/cli arguments', () => {
  it('defaults to ../shared/data, .cache/pretrain and models/ntk-mini relative to the working folder, on wasm', () => {
    const o = parsePretrainArgs([], '/repo');
    assert.equal(o.data, path.resolve('/repo/../shared/data'));
    assert.equal(o.work, path.resolve('/repo/.cache/pretrain'));
    assert.equal(o.out, path.resolve('/repo/models/ntk-mini'));
    assert.equal(o.backend, 'wasm');
    assert.deepEqual(o.cfg, {}, 'no model setting unless given (a resume takes them from run-config.json)');
  });
  it('maps model and schedule flags onto the run settings', () => {
    const o = parsePretrainArgs(['--layers', '2', '--hidden', '64', '--lr', '3e-4', '--total-steps', '50', '--max-steps', '5', '--vocab', '8000', '--prepare-only'], '/r');
    assert.deepEqual(o.cfg, { numLayers: 2, hiddenSize: 64, learningRate: 3e-4, totalSteps: 50 });
    assert.equal(o.maxSteps, 5);
    assert.equal(o.vocab, 8000);
    assert.equal(o.prepareOnly, true);
  });
  it('names a bad or unknown option', () => {
    assert.throws(() => parsePretrainArgs(['--lr', 'fast']), /--lr needs a number \(got "fast"\)/);
    assert.throws(() => parsePretrainArgs(['--epochs', '3']), /unknown option --epochs; see ntk-lens pretrain --help/);
  });

  it('--help asks for the usage, which names every option the parser accepts', () => {
    assert.equal(parsePretrainArgs(['--help'], '/r').help, true);
    const src = fs.readFileSync(path.resolve(__dirname, '../../../../src/engine/pretrain/cli.ts'), 'utf8');
    const accepted = new Set([...src.matchAll(/case '(--[a-z-]+)'/g), ...src.matchAll(/'(--[a-z-]+)': '[a-zA-Z]+'/g)].map((m) => m[1]));
    assert.ok(accepted.size > 20, `found ${accepted.size} options in the parser`);
    for (const flag of accepted) if (flag !== '--help') assert.match(PRETRAIN_USAGE, new RegExp(`${flag}\\b`), `${flag} is in the usage`);
  });
  it('--init takes a work folder, its ckpt/ folder or a checkpoint folder to the same checkpoint and the run\'s tokenizer, and names what is missing', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-init-'));
    try {
      const step = path.join(work, 'ckpt', 'step-0000042');
      fs.mkdirSync(step, { recursive: true });
      fs.writeFileSync(path.join(step, 'state.json'), '{}');
      fs.writeFileSync(path.join(work, 'ckpt', 'latest.json'), JSON.stringify({ dir: 'step-0000042' }));
      assert.throws(() => resolveInit(work), /tokenizer\.json is missing; a continued run must use the same tokenizer/);
      fs.writeFileSync(path.join(work, 'tokenizer.json'), '{}');
      const want = { checkpointDir: step, tokenizerFile: path.join(work, 'tokenizer.json') };
      for (const p of [work, path.join(work, 'ckpt'), step]) assert.deepEqual(resolveInit(p), want, p);
      assert.equal(parsePretrainArgs(['--init', 'w'], '/r').init, path.resolve('/r/w'));
      assert.throws(() => resolveInit(path.join(work, 'nothing')), /is not a checkpoint folder \(no state\.json\) and holds no latest\.json/);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
