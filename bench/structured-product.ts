/**
 * `npm run bench:product`: the structured eNTK's dense-site product on wasm, fused (wasm-kernels/structured_product.c)
 * against the tf-op form it replaces (both through kernel/structured-features.ts structuredSiteProduct, with the train
 * factors laid out for each) and against our 1024³
 * matMul, all in this one process, each timed as the best of 9 (alternating, so a load spike hits all three alike).
 *
 * Shapes: the dense sites of GPT-2 small and SmolLM2-135M, C = 2, one evaluated batch of 8 prompts against a train
 * chunk of 32 (SST-2 16-shot), every prompt 24 tokens (the SST-2 mean of bench/causal-sst2.ts). Inputs are random:
 * the cost does not depend on the values. The two forms' outputs are compared (relative max difference) so that a
 * timing of a wrong product cannot pass unnoticed.
 *
 * Figures: fused GFLOP/s counting the flops it performs, 2·C·nT·out·(nE + C·Be) (per evaluated example e and class
 * c': Q = Σ_{s∈e} A[s,·] δE[c', s] over the train rows, then C dot products with δT); its ratio to the matMul rate;
 * and the speed-up of the whole site product (A = aT·aEᵀ, then the fused pass, as structuredSiteProduct runs it) over
 * the tf-op form (which performs 2·C²·nE·nT·out for δE·δTᵀ, plus the rest).
 *
 * Usage: npm run bench:product [-- --rounds 9]
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { wasmKernelVariant, wasmStructuredProduct } from '../src/engine/backend/wasm-kernels';
import { segmentMatrix, structuredSiteProduct } from '../src/engine/kernel/structured-features';

const now = () => performance.now() / 1000;
const C = 2, BE = 8, NT_EX = 32, T = 24;

/** [name, in, out] of each model's dense sites per layer. */
const SITES: Record<string, [string, number, number][]> = {
  gpt2: [['c_attn', 768, 2304], ['c_proj', 768, 768], ['c_fc', 768, 3072], ['mlp.c_proj', 3072, 768]],
  'SmolLM2-135M': [['q_proj', 576, 576], ['k_proj|v_proj', 576, 192], ['o_proj', 576, 576], ['gate|up_proj', 576, 3072], ['down_proj', 1536, 576]],
};

function best(rounds: number, fns: (() => tf.Tensor)[]): number[] {
  const t = fns.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t0 = now();
      const y = fn();
      y.dataSync();
      t[i] = Math.min(t[i], now() - t0);
      y.dispose();
    });
  }
  return t;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 9;
  await initBackend('wasm');
  console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; `
    + `Node ${process.version}, tfjs ${tf.version.tfjs}, wasm (${wasmKernelVariant()})`);
  const a = tf.randomNormal([1024, 1024]), b = tf.randomNormal([1024, 1024]);
  const nE = BE * T, nT = NT_EX * T;
  const eCounts = Array(BE).fill(T), tCounts = Array(NT_EX).fill(T);
  console.log(`C = ${C}, ${BE} evaluated × ${NT_EX} train prompts of ${T} tokens; best of ${rounds}\n`);
  console.log('model        site            in × out    fused s   GFLOP/s   matMul GFLOP/s   fused ÷ matMul   site s   tf-op s   speed-up   max rel diff');
  for (const [model, sites] of Object.entries(SITES)) {
    for (const [site, inDim, out] of sites) {
      const aE = tf.randomNormal([nE, inDim]) as tf.Tensor2D, aT = tf.randomNormal([nT, inDim]) as tf.Tensor2D;
      const dE = tf.randomNormal([C * nE, out]) as tf.Tensor2D, dT = tf.randomNormal([C * nT, out]) as tf.Tensor2D;
      const At = tf.matMul(aT, aE, false, true) as tf.Tensor2D; // [nT, nE], as structuredSiteProduct forms it
      const aTT = tf.transpose(aT) as tf.Tensor2D, dTT = tf.transpose(dT) as tf.Tensor2D;
      const segTT = tf.transpose(segmentMatrix(tCounts, C)) as tf.Tensor2D;
      const fused = () => wasmStructuredProduct(At, dE, dT, eCounts, tCounts, C)!;
      const fusedSite = () => structuredSiteProduct(aE, dE, eCounts, { aT: aTT, counts: tCounts, rows: dT }, C);
      const tfOps = () => structuredSiteProduct(aE, dE, eCounts, { aT: aTT, counts: tCounts, cols: { dT: dTT, segT: segTT } }, C);
      const [tf1, tMm, tSite, tOps] = best(rounds, [fused, () => tf.matMul(a, b), fusedSite, tfOps]);
      const k1 = fused(), k2 = tfOps();
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(k1, k2))).dataSync()[0] / tf.max(tf.abs(k2)).dataSync()[0]);
      tf.dispose([k1, k2, aE, aT, dE, dT, At, aTT, dTT, segTT]);
      const flops = 2 * C * nT * out * (nE + C * BE);
      const g = flops / tf1 / 1e9, gm = 2 * 1024 ** 3 / tMm / 1e9;
      console.log(`${model.padEnd(12)} ${site.padEnd(15)} ${`${inDim} × ${out}`.padStart(10)} ${tf1.toFixed(3).padStart(9)} ${g.toFixed(1).padStart(9)} `
        + `${gm.toFixed(1).padStart(16)} ${(100 * g / gm).toFixed(0).padStart(15)} % ${tSite.toFixed(3).padStart(8)} ${tOps.toFixed(3).padStart(9)} ${(tOps / tSite).toFixed(2).padStart(9)}× ${diff.toExponential(1).padStart(13)}`);
    }
  }
  tf.dispose([a, b]);
}

main().catch((e) => { console.error(e instanceof Error ? e.stack ?? e.message : e); process.exit(1); });
