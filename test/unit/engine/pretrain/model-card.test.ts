import assert from 'node:assert/strict';
import { modelCard, wholeRun, type CardFigures } from '../../../../src/engine/pretrain/model-card';
import { DEFAULT_PRETRAIN_CONFIG } from '../../../../src/engine/pretrain/loop';

const base: CardFigures = {
  cfg: { ...DEFAULT_PRETRAIN_CONFIG, learningRate: 2e-3, totalSteps: 4000, warmupSteps: 200, seed: 2 },
  vocabSize: 12000, parameters: 2.37e6, nonEmbeddingParameters: 0.82e6, weightsBytes: 4.8e6,
  step: 100, tokensSeen: 100 * 4096, trainSeconds: 150, trainBlocks: 1000, heldOutBlocks: 64, secondsPerStep: 1.5,
  backend: 'wasm', history: [{ step: 0, heldOutLoss: 6.3, heldOutAccuracy: 0.12 }, { step: 100, heldOutLoss: 6.0, heldOutAccuracy: 0.15 }],
  date: '2026-11-27',
};
const stage1 = {
  from: '.cache/pretrain/ckpt/step-0005663', step: 5663, tokensSeen: 5663 * 4096, trainSeconds: 3600, options: { ...DEFAULT_PRETRAIN_CONFIG, vocabSize: 12000 },
  history: [{ step: 0, heldOutLoss: 9.4, heldOutAccuracy: 0 }, { step: 5663, heldOutLoss: 6.3, heldOutAccuracy: 0.12 }],
};

describe('pretrain/model-card', () => {
  it('a single run is described by its own steps, tokens and schedule', () => {
    const w = wholeRun(base);
    assert.deepEqual([w.steps, w.tokens, w.seconds, w.offset], [100, 409600, 150, 0]);
    assert.deepEqual(w.history.map((h) => h.step), [0, 100]);
    assert.match(modelCard(base), /peak learning rate 0\.002, linear warm-up over 200 steps then linear decay to 0 at step 4000/);
  });

  it('a continued run counts steps, tokens and hours over both stages and draws one learning curve without the repeated start', () => {
    const c = { ...base, previous: stage1 };
    const w = wholeRun(c);
    assert.deepEqual([w.steps, w.tokens, w.seconds, w.offset], [5763, 5763 * 4096, 3750, 5663]);
    // Stage 2's step 0 is stage 1's last checkpoint (the same weights): shown once.
    assert.deepEqual(w.history.map((h) => [h.step, h.heldOutLoss]), [[0, 9.4], [5663, 6.3], [5763, 6.0]]);
    const card = modelCard(c);
    assert.match(card, /step 5763, counted over 2 stages/);
    assert.match(card, /Stage 1: peak learning rate 0\.0005, .* decay to 0 at step 6000, .*; stopped at its step 5663/);
    assert.match(card, /Stage 2 \(this run, .*\): peak learning rate 0\.002, .*; at its step 100/);
    assert.match(card, /5763 steps in all \(this stage: step 100 of 4000\)/);
    assert.match(card, /\| 5763 \| 6\.000 \| 15\.0% \|/);
  });

  it('says how far the loss is below the frequency-only plateau, whether the zero-shot prompt predicts one word, and what 100 k steps cost at the measured rate', () => {
    const card = modelCard({ ...base, unigramEntropy: 7.06, heldOut: { loss: 6.29, accuracy: 0.12, maskedTokens: 1211 },
      sst2ZeroShot: { step: 100, accuracy: 0.51, predictedShare: [0.001, 0.999], examples: 872 } });
    assert.match(card, /scores 7\.06 nats on this text .*\n.*this one is 0\.77 nats below that, so it uses little of the context/);
    assert.match(card, /predicts one label word for 99\.9% of the sentences/);
    assert.match(card, /at 1\.50 s per step on one core of\nthe build machine, 100 k steps take about 42 hours/);
    const better = modelCard({ ...base, unigramEntropy: 7.06, heldOut: { loss: 4.5, accuracy: 0.3, maskedTokens: 1211 },
      sst2ZeroShot: { step: 100, accuracy: 0.62, predictedShare: [0.4, 0.6], examples: 872 } });
    assert.match(better, /2\.56 nats below that, so it uses some of the context/);
    assert.match(better, /zero-shot prompt accuracy is 62\.0%/);
  });
});
