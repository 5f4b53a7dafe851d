/**
 * The model card (models/ntk-mini/README.md), regenerated at every export from the run's own figures, so the
 * shipped card always describes the shipped weights.
 */
import type { PretrainConfig, PreviousStage } from './loop';

export interface CardFigures {
  cfg: PretrainConfig;
  vocabSize: number;
  parameters: number;
  nonEmbeddingParameters: number;
  weightsBytes: number;
  step: number;
  tokensSeen: number;
  trainSeconds: number;
  trainBlocks: number;
  heldOutBlocks: number;
  secondsPerStep: number;
  backend: string;
  heldOut?: { loss: number; accuracy: number; maskedTokens: number };
  sst2ZeroShot?: { step: number; accuracy: number; predictedShare: number[]; examples: number };
  history: { step: number; heldOutLoss: number; heldOutAccuracy: number; sst2ZeroShot?: number }[];
  date: string;
  /** Entropy (nats) of the training text's token frequencies: the loss of a model that ignores context. */
  unigramEntropy?: number;
  /** The earlier stages when this run continued another one's weights (loop.ts, `init`). */
  previous?: PreviousStage;
}

type HistoryRow = CardFigures['history'][number];

/** The earlier stages, oldest first. */
function earlierStages(p: PreviousStage | undefined): PreviousStage[] {
  return p ? [...earlierStages(p.previous), p] : [];
}

/**
 * The whole lineage as one run: steps, tokens and hours summed over the stages, and one learning curve whose steps
 * count from the first stage's start (a stage's own step s is shown as s plus the steps of the stages before it).
 */
export function wholeRun(c: CardFigures): { steps: number; tokens: number; seconds: number; offset: number; history: HistoryRow[] } {
  const stages = earlierStages(c.previous);
  let offset = 0;
  const history: HistoryRow[] = [];
  for (const s of stages) {
    const own = (s.history as HistoryRow[]).filter((h) => h.step > 0 || offset === 0);
    history.push(...own.map((h) => ({ ...h, step: h.step + offset })));
    offset += s.step;
  }
  history.push(...c.history.filter((h) => h.step > 0 || offset === 0).map((h) => ({ ...h, step: h.step + offset })));
  const sum = (k: 'tokensSeen' | 'trainSeconds'): number => stages.reduce((a, s) => a + s[k], 0);
  return { steps: offset + c.step, tokens: sum('tokensSeen') + c.tokensSeen, seconds: sum('trainSeconds') + c.trainSeconds, offset, history };
}

function optimizerLine(o: Record<string, unknown>): string {
  return `peak learning rate ${o.learningRate}, linear warm-up over ${o.warmupSteps} steps then linear decay to 0 at step ${o.totalSteps}, batch ${o.batchSize} × ${o.maxLen} tokens, seed ${o.seed}`;
}

const f = (x: number, d = 3): string => x.toFixed(d);

/** The learning curve as table rows: `n` checkpoints spread evenly over the whole run, first and last included. */
export function curveRows(history: CardFigures['history'], n = 16): string[] {
  const picked = history.length <= n ? history
    : Array.from({ length: n }, (_, i) => history[Math.round((i * (history.length - 1)) / (n - 1))]);
  return picked.map((h) => `| ${h.step} | ${f(h.heldOutLoss)} | ${f(100 * h.heldOutAccuracy, 1)}% | ${h.sst2ZeroShot === undefined ? '' : `${f(100 * h.sst2ZeroShot, 1)}%`} |`);
}

export function modelCard(c: CardFigures): string {
  const { cfg } = c;
  const whole = wholeRun(c);
  const stages = earlierStages(c.previous);
  const epochs = whole.tokens / (c.trainBlocks * cfg.maxLen);
  const rows = curveRows(whole.history);
  const stageLines = stages.length === 0 ? '' : `${stages.map((s, i) => `
  - Stage ${i + 1}: ${optimizerLine(s.options)}; stopped at its step ${s.step} (${(s.tokensSeen / 1e6).toFixed(2)} M tokens, ${(s.trainSeconds / 3600).toFixed(2)} h).`).join('')}
  - Stage ${stages.length + 1} (this run, from the weights of stage ${stages.length}'s last checkpoint, fresh AdamW moments): ${optimizerLine(cfg as unknown as Record<string, unknown>)}; at its step ${c.step}.`;
  return `---
language: en
license: other
tags: [fill-mask, bert, ntk-lens]
---
# ntk-mini

A very small uncased BERT masked language model, pre-trained from scratch by ntk-lens's own engine
(\`ntk-lens pretrain\`, \`src/engine/pretrain/\`) on a CPU, so that ntk-lens has a built-in model that runs a full
prompt-fine-tuning vs. empirical-NTK comparison on a laptop CPU without downloading anything.

**It is undertrained and weak.** It exists to make the tool's pipeline runnable offline; its scores are far below
those of RoBERTa-base in Malladi et al. (2023) and must not be compared with them.

_This card is written by the training run at every checkpoint export; the figures below are those of the weights
in this folder (step ${whole.steps}${stages.length ? `, counted over ${stages.length + 1} stages` : ''}, ${c.date})._

## Model
| | |
|---|---|
| Architecture | BERT (post-LayerNorm), ${cfg.numLayers} layers, hidden ${cfg.hiddenSize}, ${cfg.numHeads} heads, FFN ${cfg.intermediateSize}, GELU, tied decoder |
| Vocabulary | ${c.vocabSize} WordPiece entries, uncased (BertNormalizer lower-case + accent stripping) |
| Max positions | ${cfg.maxLen} |
| Parameters | ${(c.parameters / 1e6).toFixed(2)} M (${(c.nonEmbeddingParameters / 1e6).toFixed(2)} M outside the embeddings) |
| Weights file | model.safetensors, F16, ${(c.weightsBytes / 1e6).toFixed(1)} MB |
| Dropout in config.json | 0.1 (BERT's default, for fine-tuning); pre-training used ${cfg.dropout} |

### Why this size
Measured forward+backward+update throughput on the tfjs wasm backend of the build machine (2 CPU cores, shared
with other engineers' jobs while measured, so the figures vary by 2–3× with the load; batch 32 × 128 tokens,
vocabulary 12,000, MLM decoder on the masked rows only): 4 layers × 256 hidden: 17.5 s/step (234 tokens/s; 52 s/step
at a higher load); 4 × 192: 14.2 s/step; 4 × 128: 7.5 s/step (549 tokens/s); 3 × 128: 4.9 s/step (840 tokens/s).
At those rates a 4 × 256 model would see about one pass over the ${(c.trainBlocks * cfg.maxLen / 1e6).toFixed(1)} M-token corpus in 10 hours, far too
few tokens for its size; 4 × 128 sees 2–4 M tokens an hour, a better tokens-per-parameter ratio for a compute-bound run, and keeps a full ntk-lens comparison
(per-example gradients of ~${Math.round(c.parameters / 1e5) / 10} M parameters for ~900 examples) near a minute on a laptop CPU.
Those rates are of the first engine; from step 3129 the engine's own WebAssembly matrix product (about 2× faster on
this model) made a step of 4 × 128 take about 1.5 s, and the SST-2 16-shot kernel of this model about 18 s; in the
second stage, one-pass WebAssembly sums, softmax cross-entropy and AdamW took another quarter off a step.

## Training
- Data: see RECIPE.md (NLTK corpora + the unlabeled text of the LM-BFF \`pool/train.json\` files; every line containing
  a test sentence of any of the 14 tasks removed). ${c.trainBlocks} train blocks and ${c.heldOutBlocks} held-out blocks of ${cfg.maxLen} tokens
  (documents joined with [SEP], each block starting with [CLS]).
- Objective: masked LM, ${cfg.maskProb * 100}% of tokens selected, 80% [MASK] / 10% random / 10% unchanged; no NSP.
- Optimizer: AdamW (β = ${cfg.beta1}, ${cfg.beta2}; ε = ${cfg.eps}; weight decay ${cfg.weightDecay}, none on biases and LayerNorm),
  gradient clipping at ${cfg.maxGradNorm}${stages.length ? '; in stages:' : `, ${optimizerLine(cfg as unknown as Record<string, unknown>)}.`}${stageLines}
- Progress: ${stages.length ? `${whole.steps} steps in all (this stage: step ${c.step} of ${cfg.totalSteps})` : `step ${c.step} of ${cfg.totalSteps}`}, ${(whole.tokens / 1e6).toFixed(2)} M tokens (${f(epochs, 2)} epochs),
  ${(whole.seconds / 3600).toFixed(2)} h of training on the ${c.backend} backend (${f(c.secondsPerStep, 2)} s/step lately).

## Results
${c.heldOut ? `- Held-out MLM (first ${c.heldOutBlocks >= 64 ? 64 : c.heldOutBlocks} held-out blocks, fixed masks, ${c.heldOut.maskedTokens} masked tokens): loss ${f(c.heldOut.loss)} nats
  (perplexity ${f(Math.exp(c.heldOut.loss), 1)}), top-1 accuracy ${f(100 * c.heldOut.accuracy, 1)}%.` : '- Held-out MLM: not evaluated yet.'}
${c.sst2ZeroShot ? `- SST-2 zero-shot prompt at step ${c.sst2ZeroShot.step + whole.offset} (872 test sentences, \`*cls**sent_0*_It_was*mask*.*sep+*\`, terrible/great):
  accuracy ${f(100 * c.sst2ZeroShot.accuracy, 1)}% (predicted great for ${f(100 * c.sst2ZeroShot.predictedShare[1], 1)}% of sentences; chance is 50%).` : '- SST-2 zero-shot: not evaluated yet.'}

| step | held-out loss | held-out acc. | SST-2 zero-shot |
|---|---|---|---|
${rows.join('\n')}

## What would make it useful
${c.unigramEntropy !== undefined && c.heldOut ? `A model that knows only how often each token occurs scores ${f(c.unigramEntropy, 2)} nats on this text (the entropy of its
training tokens' frequencies); this one is ${f(c.unigramEntropy - c.heldOut.loss, 2)} nats below that, so it uses ${c.unigramEntropy - c.heldOut.loss < 1.5 ? 'little' : 'some'} of the context.` : ''}
${c.sst2ZeroShot ? `Its SST-2 zero-shot prompt ${Math.max(...c.sst2ZeroShot.predictedShare) > 0.9 ? `predicts one label word for ${f(100 * Math.max(...c.sst2ZeroShot.predictedShare), 1)}% of the sentences: the prompt does not yet carry sentiment` : `accuracy is ${f(100 * c.sst2ZeroShot.accuracy, 1)}%`}.` : ''}
It has seen ${(whole.tokens / 1e6).toFixed(0)} M tokens; BERT-sized recipes use billions, and even very small BERTs are
trained on hundreds of millions. What would get there: many more steps (at ${f(c.secondsPerStep, 2)} s per step on one core of
the build machine, 100 k steps take about ${Math.round((1e5 * c.secondsPerStep) / 3600)} hours), or pre-training on a GPU (\`ntk-lens pretrain --backend
webgpu\`; checked against cpu on a software driver, not yet run on a real GPU). bench/RESULTS.md compares the
learning curve with a PyTorch twin of this run.

## Rebuilding
\`npm run pretrain\` (or \`ntk-lens pretrain\`) rebuilds the corpus, vocabulary and model from ../shared/data with the
settings above; checkpoints go to .cache/pretrain/ and a later run resumes exactly from the last one.${stages.length ? ` Each further
stage is a run in its own work folder started with \`--init\` from the one before (the commands are in RECIPE.md).` : ''}
`;
}
