import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { promptClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn, type StructuredNtkOptions } from '../../../../src/engine/kernel/structured-ntk';
import { mergeKernelTiles, planTiles } from '../../../../src/engine/kernel/tiles';
import type { EmpiricalNtk, EvalSet, KernelKind, KernelResult, KernelRunOptions } from '../../../../src/engine/kernel/types';
import { parameterGroup, type EncoderConfig, type Params } from '../../../../src/engine/model';
import { recordingModel } from '../../../../src/engine/model/recording';
import { maskedExamples, tinyMaskedModel } from '../../../support/masked-kernel-fixtures';
import '../../../../src/engine/backend'; // registers the linear-time UnsortedSegmentSum for cpu

const KINDS: KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
const LABELS = [7, 11, 30];
const C = LABELS.length;

/** max |a − b| / max |b| over every block of every kind (data and flipped); the blocks must match in kind, name, shape. */
function maxRelDiff(actual: KernelResult, expected: KernelResult): Record<string, number> {
  const out: Record<string, number> = {};
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), 'kinds');
  for (const [kind, blocks] of Object.entries(expected)) {
    assert.deepEqual(Object.keys(actual[kind as KernelKind]!).sort(), Object.keys(blocks!).sort(), `${kind}: blocks`);
    let diff = 0;
    let scale = 0;
    for (const [set, blk] of Object.entries(blocks!)) {
      const got = actual[kind as KernelKind]![set];
      assert.deepEqual(got.shape, blk.shape, `${kind}/${set} shape`);
      assert.equal(got.tile, undefined, `${kind}/${set}: a merged block carries no tile`);
      assert.equal(!got.flipped, !blk.flipped, `${kind}/${set}: flipped present in both or neither`);
      const pairs: [Float64Array, Float64Array][] = [[got.data, blk.data]];
      if (blk.flipped) pairs.push([got.flipped!, blk.flipped]);
      for (const [a, b] of pairs) {
        for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
      }
    }
    assert.ok(scale > 0, `${kind}: the untiled kernel is not all zero`);
    out[kind] = diff / scale;
  }
  return out;
}

type Outputs = Map<string, Map<number, number[]>>;

/** onOutputs that collects (set, index) → f0 and refuses an input reported twice. */
function collector(into: Outputs): NonNullable<KernelRunOptions['onOutputs']> {
  return (set, indices, values) => {
    const m = into.get(set) ?? new Map<number, number[]>();
    into.set(set, m);
    indices.forEach((i, r) => {
      assert.ok(!m.has(i), `${set}[${i}] reported twice`);
      m.set(i, Array.from(values.subarray(r * C, (r + 1) * C)));
    });
  };
}

async function tiles<I>(ntk: EmpiricalNtk<I>, train: I[], sets: EvalSet<I>[], count: number, outputs?: Outputs): Promise<KernelResult[]> {
  const parts: KernelResult[] = [];
  for (let index = 0; index < count; index++) {
    parts.push(await ntk(train, sets, { tile: { index, count }, onOutputs: outputs && collector(outputs) }));
  }
  return parts;
}

/** Whether a tile computed nothing (every fill mask empty). */
const isEmpty = (part: KernelResult) => Object.values(part).every((blocks) => Object.values(blocks!).every((b) => b.tile!.filled.every((x) => x === 0)));

const measured: string[] = [];

describe('kernel/tiles: tiled kernel calls merged = the untiled call (1e-12 relative; bitwise on cpu)', function () {
  this.timeout(300000);
  before(async () => { await tf.setBackend('cpu'); });
  after(() => { if (process.env.TILES_REPORT) console.log(measured.join('\n')); });

  let config: EncoderConfig;
  let params: Params;
  let train: EncodedExample[];
  let sets: EvalSet<EncodedExample>[];
  before(() => {
    ({ config, params } = tinyMaskedModel({ modelType: 'bert', seed: 3, hiddenAct: 'gelu' }));
    train = maskedExamples(7, 1, LABELS[0], config);
    sets = [{ name: 'dev', inputs: maskedExamples(6, 2, LABELS[1], config) }, { name: 'test', inputs: maskedExamples(5, 3, LABELS[0], config) }];
  });
  after(() => { for (const v of new Set(params.values())) v.dispose(); });

  /** Bytes per token one recording keeps (the kernel's own measure), to size a record budget of a few short inputs. */
  async function bytesPerToken(): Promise<number> {
    const model = recordingModel(params, config, config.padTokenId, { kind: 'mlm', labelIds: LABELS });
    const inputs = train.slice(0, 3);
    const before = tf.memory().numBytes;
    const rec = await model.record(inputs);
    const bytes = tf.memory().numBytes - before;
    rec.dispose();
    return bytes / (inputs.length * Math.max(...inputs.map((x) => x.inputIds.length)));
  }

  const structuredCases: { what: string; opts: (bpt: number) => Partial<StructuredNtkOptions>; kinds: KernelKind[]; chunks: number; many: number }[] = [
    // 2 train examples per chunk (4 chunks), batches of up to 3 cut by the record budget (~24 tokens): train×train
    // streamed against each chunk, batch sizes varying with the length.
    { what: 'several chunks, batches sized by the record budget', kinds: KINDS, chunks: 4, many: 64, opts: (bpt) => ({ maxGradientsInMemory: 3 * C, recordBudgetBytes: 24 * bpt }) },
    // one chunk: train×train from the held gradients (held batches of 3, 3, 1), split by held batch.
    { what: 'one chunk, train×train from the held gradients', kinds: KINDS, chunks: 1, many: 24, opts: () => ({ maxGradientsInMemory: 1000 }) },
    // SGD alone with a budget of one explicit example: the structured form, one chunk, train×train streamed.
    { what: 'SGD, structured form, one chunk (train×train from its factors)', kinds: ['sgd'], chunks: 1, many: 24, opts: (bpt) => ({ maxGradientsInMemory: 2 * C, recordBudgetBytes: 20 * bpt }) },
  ];
  for (const { what, opts, kinds, chunks, many } of structuredCases) {
    it(`structured, ${kinds.join(' + ')}: ${what}; tiles of 1, 2, 3 and more tiles than units`, async () => {
      const before = tf.memory().numTensors;
      const model = recordingModel(params, config, config.padTokenId, { kind: 'mlm', labelIds: LABELS });
      const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
      const options: StructuredNtkOptions = { kinds, batchSize: 3, ...opts(await bytesPerToken()) };
      const ntk = structuredNtkFn(model, all, options);
      const untiledOutputs: Outputs = new Map();
      let plan = { perChunk: 0, chunks: 0 };
      const untiled = await ntk(train, sets, { onOutputs: collector(untiledOutputs), onPlan: (p) => { plan = p; } });
      assert.equal(plan.chunks, chunks, 'train chunks');
      for (const count of [1, 2, 3, many]) {
        const outputs: Outputs = new Map();
        const parts = await tiles(ntk, train, sets, count, outputs);
        if (count === many) assert.ok(parts.some(isEmpty), `${count} tiles: some tile has no unit`);
        if (count > 1) assert.ok(parts.filter((p) => !isEmpty(p)).length > 1, `${count} tiles: the work is split`);
        const rel = maxRelDiff(mergeKernelTiles(parts), untiled);
        measured.push(`structured ${what}, ${count} tiles: ${JSON.stringify(rel)}`);
        for (const [kind, r] of Object.entries(rel)) assert.ok(r <= 1e-12, `${count} tiles, ${kind}: max relative difference ${r.toExponential(2)} > 1e-12`);
        // f0: every input reported once over the tiles (the collector refuses a repeat), as the untiled call reports it.
        assert.deepEqual([...outputs.keys()].sort(), [...untiledOutputs.keys()].sort(), `${count} tiles: sets reported`);
        for (const [set, m] of untiledOutputs) assert.deepEqual(new Map([...outputs.get(set)!].sort((a, b) => a[0] - b[0])), new Map([...m].sort((a, b) => a[0] - b[0])), `${count} tiles: ${set} f0`);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    });
  }

  it('plain, sgd + signgd + asymmetric-signgd: several chunks; tiles of 1, 2, 3 and more tiles than units', async () => {
    const before = tf.memory().numTensors;
    const classify = promptClassifier(params, config, config.padTokenId, LABELS);
    const outputFn = (x: EncodedExample) => classify([x], { training: false });
    const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
    const small = [{ name: 'dev', inputs: sets[0].inputs.slice(0, 3) }, { name: 'test', inputs: sets[1].inputs.slice(0, 2) }];
    const trainSmall = train.slice(0, 5);
    // 2 train examples per chunk: 3 chunks; 5 + 3 + 1 train units and 5 evaluated per chunk: 24 units.
    const ntk = empiricalNtkFn(outputFn, all, { kinds: KINDS, maxGradientsInMemory: 3 * C });
    const untiled = await ntk(trainSmall, small);
    for (const count of [1, 2, 3, 26]) {
      const progress: number[] = [];
      const parts: KernelResult[] = [];
      for (let index = 0; index < count; index++) {
        let total = 0;
        let done = 0;
        parts.push(await ntk(trainSmall, small, { tile: { index, count }, onProgress: (p) => { done = p.done; total = p.total; } }));
        assert.equal(done, total, `tile ${index} of ${count}: planned gradient computations are the ones done`);
        progress.push(done);
      }
      if (count === 26) assert.ok(parts.some(isEmpty), '26 tiles: some tile has no unit');
      const rel = maxRelDiff(mergeKernelTiles(parts), untiled);
      measured.push(`plain, ${count} tiles: ${JSON.stringify(rel)} (gradient computations per tile: ${progress.join(' ')})`);
      for (const [kind, r] of Object.entries(rel)) assert.ok(r <= 1e-12, `${count} tiles, ${kind}: max relative difference ${r.toExponential(2)} > 1e-12`);
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('refuses a missing tile, a tile given twice, mixed tile counts or plans, overlapping tiles and untiled results, with the tiles named', async () => {
    const model = recordingModel(params, config, config.padTokenId, { kind: 'mlm', labelIds: LABELS });
    const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
    const ntk = structuredNtkFn(model, all, { kinds: ['sgd', 'asymmetric-signgd'], batchSize: 2, maxGradientsInMemory: 3 * C });
    const three = await tiles(ntk, train, sets, 3);
    const two = await tiles(ntk, train, sets, 2);
    assert.throws(() => mergeKernelTiles([three[0], three[2]]), /tile 1 of 3 \(indices 0\.\.2\) missing/);
    assert.throws(() => mergeKernelTiles([three[2]]), /tiles 0, 1 of 3 .*missing/);
    assert.throws(() => mergeKernelTiles([three[0], three[1], three[1], three[2]]), /tile 1 of 3 is given twice \(parts 1 and 2\)/);
    assert.throws(() => mergeKernelTiles([three[0], two[1], three[2]]), /tile counts disagree: part 0 is tile 0 of 3, part 1 tile 1 of 2/);
    assert.throws(() => mergeKernelTiles([]), /no tiles/);
    const untiled = await ntk(train, sets);
    assert.throws(() => mergeKernelTiles([untiled]), /part 0 .*is not a tiled result/);
    // Another plan: a different memory budget (other chunks).
    const other = structuredNtkFn(model, all, { kinds: ['sgd', 'asymmetric-signgd'], batchSize: 2, maxGradientsInMemory: 4 * C });
    const otherTile = await other(train, sets, { tile: { index: 1, count: 3 } });
    assert.throws(() => mergeKernelTiles([three[0], otherTile, three[2]]), /part 1 \(tile 1 of 3\) ran a different plan.*maxGradientsInMemory/);
    // Overlap: tile 1's work relabelled as tile 2.
    const relabelled: KernelResult = Object.fromEntries(Object.entries(three[1]).map(([kind, blocks]) => [kind,
      Object.fromEntries(Object.entries(blocks!).map(([name, b]) => [name, { ...b, tile: { ...b.tile!, index: 2 } }]))]));
    assert.throws(() => mergeKernelTiles([three[0], three[1], relabelled]), /tiles 1 and 2 of 3 both computed .* pair/);
    // Bad tile options.
    await assert.rejects(ntk(train, sets, { tile: { index: 3, count: 3 } }), /tile \{ index: 3, count: 3 \} is not a tile/);
    await assert.rejects(empiricalNtkFn((x: EncodedExample) => promptClassifier(params, config, config.padTokenId, LABELS)([x], { training: false }), all, { kinds: ['sgd'] })(
      train, sets, { tile: { index: 0, count: 0 } }), /kernel\/empirical-ntk\.ts: tile .* is not a tile/);
    // And the three tiles merge.
    for (const r of Object.values(maxRelDiff(mergeKernelTiles([three[2], three[0], three[1]]), untiled))) assert.ok(r <= 1e-12);
  });

  it('planTiles: each unit to the least loaded tile so far, ties to the lowest index', () => {
    assert.deepEqual(planTiles([1, 1, 1, 1, 1], 2), [0, 1, 0, 1, 0]);
    assert.deepEqual(planTiles([5, 1, 1, 1, 3], 2), [0, 1, 1, 1, 1]);
    assert.deepEqual(planTiles([2, 2], 4), [0, 1]);
  });
});
