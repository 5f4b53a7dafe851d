/**
 * The SST-2 16-shot SGD kernel of a ModernBERT-base-shaped masked LM (issue 14 §2–3), end to end through
 * `ntk-lens kernel`, as bench/causal-sst2.ts does for the decoder-only shapes:
 * `npx tsx bench/modernbert-sst2.ts [--test-limit N] [--gflops G] [--keep DIR]`.
 *
 * Nothing can be downloaded here, so the model is a random checkpoint of ModernBERT-base's shape (config.json as the
 * Hub's answerdotai/ModernBERT-base has it; weights from randomModernBertParams, float32) with a byte-level BPE
 * tokenizer.json in which every word of SST-2 is one token (" word" → "Ġword") plus BERT's five special tokens, the
 * layout of ModernBERT's tokenizer. The run: SST-2, k-shot 16-13, the full test set (32 train × (32 dev + 872 test),
 * C = 2), the template "*cls**sent_0*_It_was*mask*.*sep+*" with the words terrible / great, `kernel: {kinds: [sgd],
 * solver: lstsq}`, default memory settings, one process. Floor: one forward and C = 2 backward passes per example at
 * the measured matMul rate (modernBertForwardFlops × (1 + 2·2)), the rule of bench/causal-sst2.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { loadTaskSplits, type Example } from '../src/engine/data';
import { disposeParams } from '../src/engine/model';
import { parseModernBertConfig, randomModernBertParams, saveModernBertCheckpoint } from '../src/engine/model/modernbert';
import { compilePrompt, prepareTemplate } from '../src/engine/template';
import { loadTokenizer } from '../src/engine/tokenize';
import { modernBertTokenizerFiles } from '../test/support/tiny-modernbert-files';
import { runKernelCli, SST2_DIR } from './causal-sst2';

const TEMPLATE = '*cls**sent_0*_It_was*mask*.*sep+*';
/** huggingface.co/answerdotai/ModernBERT-base config.json (the keys the engine reads; also bench/models.ts's entry). */
export const MODERNBERT_BASE = {
  architectures: ['ModernBertForMaskedLM'], model_type: 'modernbert', vocab_size: 50368, hidden_size: 768, intermediate_size: 1152,
  num_hidden_layers: 22, num_attention_heads: 12, hidden_activation: 'gelu', max_position_embeddings: 8192, norm_eps: 1e-5,
  norm_bias: false, global_rope_theta: 160000, local_rope_theta: 10000, global_attn_every_n_layers: 3, local_attention: 128,
  pad_token_id: 50283,
};

/**
 * Flops of one forward over T tokens (2 per multiply-add): Wqkv (3H×H), Wo (H×H), Wi (2I×H), the MLP's Wo (H×I) per
 * token and layer; attention products 4·T·W·H per layer, W = T on global layers and min(T, local_attention + 1) on
 * local ones; the head (H×H) and C decoder rows at the [MASK] row.
 */
export function modernBertForwardFlops(T: number, C: number): number {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L, global_attn_every_n_layers: every, local_attention: window } = MODERNBERT_BASE;
  let f = 0;
  for (let l = 0; l < L; l++) f += T * 2 * (4 * H * H + 3 * I * H) + 4 * T * (l % every === 0 ? T : Math.min(T, window + 1)) * H;
  return f + 2 * H * H + 2 * H * C;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const testLimit = opt('--test-limit') !== undefined ? Number(opt('--test-limit')) : undefined;
  const keep = opt('--keep');
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-modernbert-'));
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir, { recursive: true });

  const splits = loadTaskSplits('SST-2', SST2_DIR, { shots: 16, seed: 13, testSet: 'full' });
  const tok = modernBertTokenizerFiles([...[...splits.train, ...splits.dev, ...splits.test].map((e) => e.textA), 'It was terrible great .']);
  if (tok.vocabSize > MODERNBERT_BASE.vocab_size) throw new Error(`bench/modernbert-sst2.ts: the SST-2 word vocabulary (${tok.vocabSize}) exceeds ModernBERT's table`);
  for (const [file, text] of Object.entries(tok.files)) fs.writeFileSync(path.join(modelDir, file), text);
  await initBackend('wasm');
  const config = parseModernBertConfig({ ...MODERNBERT_BASE, pad_token_id: tok.padId }, 'bench/modernbert-sst2.ts');
  const params = randomModernBertParams(config, 13);
  await saveModernBertCheckpoint(modelDir, config, params);
  disposeParams(params);

  const specFile = path.join(dir, 'sst2.ntk.yaml');
  fs.writeFileSync(specFile, [
    'task: SST-2', `data: ${SST2_DIR}`, 'shots: 16', 'seeds: [13]', 'model: ./model', 'max_length: 128', 'test_set: full',
    ...(testLimit !== undefined ? [`test_limit: ${testLimit}`] : []),
    'kernel: {kinds: [sgd], solver: lstsq}', 'templates:', '  - name: it-was', `    template: "${TEMPLATE}"`,
    "    words: {'0': terrible, '1': great}", '',
  ].join('\n'));
  const tokenizer = await loadTokenizer(modelDir);
  const prepared = prepareTemplate(TEMPLATE, tokenizer);
  const count = (e: Example) => compilePrompt(prepared, tokenizer, e, { maxLength: 128 }).inputIds.length;
  const lengths = [...splits.train, ...splits.dev, ...splits.test.slice(0, testLimit ?? splits.test.length)].map(count);
  const meanTokens = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  console.error(`ModernBERT-base: files in ${dir}; ${lengths.length} examples, mean ${meanTokens.toFixed(1)} tokens; running ntk-lens kernel`);

  const run = runKernelCli(specFile);
  const gflops = Number(opt('--gflops') ?? '40');
  const floorSeconds = lengths.reduce((a, T) => a + 5 * modernBertForwardFlops(T, 2), 0) / (gflops * 1e9);
  console.log(JSON.stringify({
    model: 'ModernBERT-base', parameters: run.parameters, evaluated: lengths.length - splits.train.length, meanTokens, seconds: run.seconds,
    kernelSeconds: run.kernelSeconds, gflops, floorSeconds, floorRatio: run.exitCode === 0 ? run.seconds / floorSeconds : undefined,
    peakRssMB: run.peakRssMB, exitCode: run.exitCode, error: run.exitCode === 0 ? undefined : run.stderr.slice(-2000),
    machine: `${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}`,
  }, null, 2));
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  if (run.exitCode !== 0) process.exitCode = 1;
}

if (require.main === module) main().catch((e) => { console.error(e instanceof Error ? e.stack ?? e.message : e); process.exit(1); });
