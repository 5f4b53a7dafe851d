/**
 * The SST-2 16-shot SGD kernel of decoder-only models of real shapes, end to end through `ntk-lens kernel`
 * (issue 14 §5): `npm run bench -- --causal gpt2,SmolLM2-135M` (bench/run.ts), or on its own
 * `npx tsx bench/causal-sst2.ts gpt2 [--test-limit N] [--keep DIR]`.
 *
 * Nothing can be downloaded here, so each model is a random checkpoint of the real shape (config.json from the Hub's
 * file of that id, float32 safetensors written by test/support/tiny-causal-checkpoint.ts) with a byte-level BPE
 * tokenizer.json in which every word of SST-2 (train, dev and the full test set) is one token (" word" → "Ġword",
 * test/support/tiny-causal-files.ts). Real GPT-2 / SmolLM2 vocabularies split rare words into several pieces, so
 * these prompts are a little shorter than real ones (mean tokens printed); the model's tables keep their real sizes.
 *
 * The run: SST-2, k-shot 16-13, the full test set (32 train × (32 dev + 872 test) evaluated, C = 2), the template
 * "*cls**sent_0*_It_was*mask*" (a causal template ends at its mask; *cls* is nothing for a model without BOS) with
 * the words terrible / great, `kernel: {kinds: [sgd], solver: lstsq}`, default memory settings, one process.
 * Floor: one forward and C = 2 backward passes per evaluated or train example at the measured matMul rate
 * (causalForwardFlops × (1 + 2·2)), the same rule as ntk-mini's floor in bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTaskSplits, type Example } from '../src/engine/data';
import { compilePrompt, prepareTemplate } from '../src/engine/template';
import { loadTokenizer } from '../src/engine/tokenize';
import { writeTinyCausalCheckpoint, type TinyCausalSpec } from '../test/support/tiny-causal-checkpoint';
import { wordLevelByteBpe } from '../test/support/tiny-causal-files';

const ROOT = path.resolve(__dirname, '..');
export const SST2_DIR = path.resolve(ROOT, '../shared/data/lm-bff/SST-2');
const TEMPLATE = '*cls**sent_0*_It_was*mask*';

/** A causal shape as the Hub's config.json of that id gives it (the keys the engine reads). */
interface CausalShape {
  spec: TinyCausalSpec;
  /** Per layer: hidden H, MLP width I, query heads × head size = H, key/value width (GQA), gated MLP. */
  dims: { H: number; I: number; L: number; kv: number; gated: boolean };
}

export const CAUSAL_SHAPES: Record<string, CausalShape> = {
  // huggingface.co/gpt2 config.json (GPT2LMHeadModel, 124 M): tied head, learned positions, gelu_new.
  gpt2: {
    spec: { modelType: 'gpt2', vocab: 50257, hidden: 768, layers: 12, heads: 12, maxPositions: 1024, seed: 11 },
    dims: { H: 768, I: 3072, L: 12, kv: 768, gated: false },
  },
  // huggingface.co/HuggingFaceTB/SmolLM2-135M config.json (LlamaForCausalLM): GQA 9/3, SwiGLU, tied, rope 1e5.
  'SmolLM2-135M': {
    spec: {
      modelType: 'llama', vocab: 49152, hidden: 576, layers: 30, heads: 9, kvHeads: 3, intermediate: 1536, maxPositions: 8192, tied: true, seed: 12,
      config: { rope_theta: 100000, bos_token_id: 0, eos_token_id: 0 },
    },
    dims: { H: 576, I: 1536, L: 30, kv: 192, gated: true },
  },
};

/**
 * Flops of one forward pass over T tokens of a decoder-only model, up to the C label logits at the last position
 * (2 per multiply-add): the projections q, o (H×H), k, v (H×kv each), the MLP (2 or 3 matrices H×I), the attention
 * products (causal: about half of 4·T²·H), and the C head rows.
 */
export function causalForwardFlops(d: CausalShape['dims'], T: number, C: number): number {
  const perToken = 2 * (2 * d.H * d.H + 2 * d.H * d.kv + (d.gated ? 3 : 2) * d.H * d.I);
  return d.L * (T * perToken + 2 * T * T * d.H) + 2 * d.H * C;
}

export interface CausalSst2Setup { dir: string; specFile: string; modelDir: string; meanTokens: number; lengths: { train: number[]; eval: number[] } }

/** Writes `dir`/model (tokenizer + random checkpoint of the shape) and `dir`/sst2.ntk.yaml. */
export async function writeCausalSst2(name: string, dir: string, opts: { testLimit?: number } = {}): Promise<CausalSst2Setup> {
  const shape = CAUSAL_SHAPES[name];
  if (!shape) throw new Error(`bench/causal-sst2.ts: unknown shape '${name}'; use one of ${Object.keys(CAUSAL_SHAPES).join(', ')}`);
  const splits = loadTaskSplits('SST-2', SST2_DIR, { shots: 16, seed: 13, testSet: 'full' });
  const sentences = [...splits.train, ...splits.dev, ...splits.test].map((e) => e.textA);
  // The template's own words ("It", "was") and the label words, spaced as the template compiler spells them.
  const tok = wordLevelByteBpe([...sentences, 'It was terrible great']) as { model: { vocab: Record<string, number> } };
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tok));
  fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({
    bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer',
  }));
  const V = Object.keys(tok.model.vocab).length;
  if (V > shape.spec.vocab!) throw new Error(`bench/causal-sst2.ts: the SST-2 word vocabulary (${V}) exceeds ${name}'s table (${shape.spec.vocab})`);
  // The special token is the tokenizer's last id; the config names it as BOS/EOS as GPT-2's does.
  await writeTinyCausalCheckpoint(modelDir, { ...shape.spec, config: { ...(shape.spec.config ?? {}), bos_token_id: V - 1, eos_token_id: V - 1 } });
  const specFile = path.join(dir, 'sst2.ntk.yaml');
  fs.writeFileSync(specFile, [
    'task: SST-2', `data: ${SST2_DIR}`, 'shots: 16', 'seeds: [13]', 'model: ./model', 'max_length: 128', 'test_set: full',
    ...(opts.testLimit !== undefined ? [`test_limit: ${opts.testLimit}`] : []),
    'kernel: {kinds: [sgd], solver: lstsq}', 'templates:', '  - name: it-was', `    template: "${TEMPLATE}"`,
    "    words: {'0': terrible, '1': great}", '',
  ].join('\n'));
  // Token counts as the engine encodes them (the floor, and the PyTorch peer's --lengths).
  const tokenizer = await loadTokenizer(modelDir);
  const prepared = prepareTemplate(TEMPLATE, tokenizer);
  const count = (e: Example) => compilePrompt(prepared, tokenizer, e, { maxLength: 128 }).inputIds.length;
  const train = splits.train.map(count);
  const evals = [...splits.dev, ...splits.test.slice(0, opts.testLimit ?? splits.test.length)].map(count);
  const all = [...train, ...evals];
  return { dir, specFile, modelDir, meanTokens: all.reduce((a, b) => a + b, 0) / all.length, lengths: { train, eval: evals } };
}

export interface CausalSst2Figures {
  model: string; parameters?: number; evaluated: number; meanTokens: number; seconds: number; kernelSeconds?: number;
  floorSeconds: number; floorRatio?: number; peakRssMB?: number; exitCode: number | null; error?: string;
}

/** What one timed `ntk-lens kernel` run gives: wall seconds, the SGD kernel's own seconds and parameter count (from its --json report), peak RSS. */
export interface KernelCliRun { seconds: number; kernelSeconds?: number; parameters?: number; peakRssMB?: number; exitCode: number | null; stderr: string }

/** `ntk-lens kernel FILE --backend wasm --json` in a child process under /usr/bin/time (also bench/modernbert-sst2.ts). */
export function runKernelCli(specFile: string): KernelCliRun {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-bench-out-'));
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', 'npx', 'tsx', 'src/engine/run/cli.ts', 'kernel', specFile, '--backend', 'wasm', '--out', outDir, '--json'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  // The report (--json, stdout): the SGD kernel's own seconds and parameter count (kernels.sgd of the seed).
  let kernelSeconds: number | undefined;
  let parameters: number | undefined;
  const visit = (x: unknown): void => {
    if (!x || typeof x !== 'object') return;
    const o = x as Record<string, unknown>;
    if (typeof o.parameterCount === 'number' && typeof o.seconds === 'number' && kernelSeconds === undefined) {
      kernelSeconds = o.seconds;
      parameters = o.parameterCount;
    }
    Object.values(o).forEach(visit);
  };
  try { visit(JSON.parse(r.stdout)); } catch { /* a failed run: no report */ }
  fs.rmSync(outDir, { recursive: true, force: true });
  const rss = /maxrss_kb=(\d+)/.exec(r.stderr ?? '');
  return { seconds, kernelSeconds, parameters, peakRssMB: rss ? Number(rss[1]) / 1024 : undefined, exitCode: r.status, stderr: r.stderr ?? '' };
}

/** `ntk-lens kernel` on the file, timed; the floor at `gflops`. */
export function runCausalSst2(name: string, setup: CausalSst2Setup, gflops: number): CausalSst2Figures {
  const d = CAUSAL_SHAPES[name].dims;
  const run = runKernelCli(setup.specFile);
  const all = [...setup.lengths.train, ...setup.lengths.eval];
  const floorSeconds = all.reduce((a, T) => a + 5 * causalForwardFlops(d, T, 2), 0) / (gflops * 1e9);
  return {
    model: name, parameters: run.parameters, evaluated: setup.lengths.eval.length, meanTokens: setup.meanTokens, seconds: run.seconds,
    kernelSeconds: run.kernelSeconds, floorSeconds, floorRatio: run.exitCode === 0 ? run.seconds / floorSeconds : undefined,
    peakRssMB: run.peakRssMB, exitCode: run.exitCode, error: run.exitCode === 0 ? undefined : run.stderr.slice(-2000),
  };
}

/** Standalone: npx tsx bench/causal-sst2.ts NAME [--test-limit N] [--gflops G] [--keep DIR] */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const name = argv[0];
  const opt = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const testLimit = opt('--test-limit') !== undefined ? Number(opt('--test-limit')) : undefined;
  const keep = opt('--keep');
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), `ntk-lens-causal-${name}-`));
  const setup = fs.existsSync(path.join(dir, 'sst2.ntk.yaml')) && keep && testLimit === undefined
    ? await writeCausalSst2(name, dir) : await writeCausalSst2(name, dir, { testLimit });
  console.error(`${name}: files in ${dir}; mean ${setup.meanTokens.toFixed(1)} tokens; running ntk-lens kernel`);
  const fig = runCausalSst2(name, setup, Number(opt('--gflops') ?? '40'));
  console.log(JSON.stringify(fig, null, 2));
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
}

if (require.main === module) main().catch((e) => { console.error(e instanceof Error ? e.stack ?? e.message : e); process.exit(1); });
