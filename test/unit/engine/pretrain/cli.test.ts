import assert from 'node:assert/strict';
import path from 'node:path';
import { parsePretrainArgs } from '../../../../src/engine/pretrain/cli';

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
    assert.throws(() => parsePretrainArgs(['--epochs', '3']), /unknown option --epochs/);
  });
});
