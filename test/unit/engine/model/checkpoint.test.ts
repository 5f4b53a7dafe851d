import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import {
  disposeParams, float16BitsToNumber, loadCheckpoint, makeEncoderConfig, numberToFloat16Bits, randomParams,
  saveCheckpoint, type Params,
} from '../../../../src/engine/model';
import { safetensorsBytes, writeTinyCheckpoint } from '../../../support/tiny-checkpoint';

function values(params: Params): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

describe('engine/model/checkpoint: saveCheckpoint and loadCheckpoint', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-ckpt-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  const config = makeEncoderConfig({
    modelType: 'bert', vocabSize: 50, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 16,
    tieWordEmbeddings: false,
  });

  it('F32, one file: loads back the identical config and every tensor bit for bit', async () => {
    const params = randomParams(config, 1);
    const dir = path.join(root, 'f32');
    await saveCheckpoint(dir, config, params);
    const loaded = await loadCheckpoint(dir);
    try {
      assert.deepEqual(loaded.config, config);
      assert.deepEqual([...loaded.params.keys()], [...params.keys()]);
      const a = values(params);
      for (const [k, v] of values(loaded.params)) assert.deepEqual(v, a.get(k), k);
    } finally {
      disposeParams(params); disposeParams(loaded.params);
    }
  });

  it('F16 in 3 shards: writes the index and shards, and loads back every value rounded to half precision', async () => {
    const params = randomParams(config, 2);
    const dir = path.join(root, 'f16');
    await saveCheckpoint(dir, config, params, { dtype: 'F16', shards: 3 });
    const files = (await fs.readdir(dir)).sort();
    assert.deepEqual(files, ['config.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    const index = JSON.parse(await fs.readFile(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(Object.keys(index.weight_map).length, params.size);
    const loaded = await loadCheckpoint(dir);
    try {
      const a = values(params);
      for (const [k, v] of values(loaded.params)) {
        a.get(k)!.forEach((x, i) => assert.equal(v[i], Math.fround(float16BitsToNumber(numberToFloat16Bits(x))), k));
      }
    } finally {
      disposeParams(params); disposeParams(loaded.params);
    }
  });

  it('saving one file over a sharded folder removes the stale index', async () => {
    const params = randomParams(config, 3);
    const dir = path.join(root, 'relayout');
    await saveCheckpoint(dir, config, params, { shards: 2 });
    await saveCheckpoint(dir, config, params);
    assert.ok(!(await fs.readdir(dir)).includes('model.safetensors.index.json'));
    disposeParams(params);
  });

  it('loading leaves only the parameters as tensors (nothing leaked while decoding)', async () => {
    const dir = path.join(root, 'leak');
    const params = randomParams(config, 4);
    await saveCheckpoint(dir, config, params);
    disposeParams(params);
    const before = tf.memory().numTensors;
    const loaded = await loadCheckpoint(dir);
    assert.equal(tf.memory().numTensors, before + loaded.params.size);
    disposeParams(loaded.params);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('engine/model/checkpoint: errors name the file and say what to do', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-ckpt-err-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  /** Rewrites model.safetensors of a tiny checkpoint with one tensor removed or replaced. */
  async function tamper(dir: string, edit: (name: string, shape: number[]) => 'keep' | 'drop' | number[]): Promise<void> {
    const { weights } = await writeTinyCheckpoint(dir, { modelType: 'bert', seed: 1 });
    const raw = [];
    for (const [name, t] of weights) {
      const e = edit(name, t.shape);
      if (e === 'drop') continue;
      const shape = e === 'keep' ? t.shape : e;
      raw.push({ name, dtype: 'F32', shape, bytes: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) });
    }
    await fs.writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes(raw));
  }

  it('a missing tensor is named with its expected shape and the file', async () => {
    const dir = path.join(root, 'missing');
    await tamper(dir, (n) => (n === 'bert.encoder.layer.1.output.dense.weight' ? 'drop' : 'keep'));
    const file = path.join(dir, 'model.safetensors');
    await assert.rejects(loadCheckpoint(dir), (e: Error) => e.message.startsWith(`${file}: missing tensor `
      + '"bert.encoder.layer.1.output.dense.weight" with shape [16, 24]'));
  });

  it('a mis-shaped tensor is named with the shape expected and the shape found', async () => {
    const dir = path.join(root, 'shape');
    await tamper(dir, (n, s) => (n === 'bert.encoder.layer.0.attention.self.key.weight' ? [s[0], s[1] - 1] : 'keep'));
    const file = path.join(dir, 'model.safetensors');
    await assert.rejects(loadCheckpoint(dir), (e: Error) => e.message.startsWith(
      `${file}: tensor "bert.encoder.layer.0.attention.self.key.weight" has shape [16, 15], expected [16, 16]`));
  });

  it('an unexpected tensor (e.g. a classifier head) is refused, naming it', async () => {
    const dir = path.join(root, 'extra');
    const { weights } = await writeTinyCheckpoint(dir, { modelType: 'bert', seed: 1 });
    const raw = [...weights].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(4 * t.values.length) }));
    raw.push({ name: 'classifier.weight', dtype: 'F32', shape: [2, 16], bytes: new Uint8Array(128) });
    await fs.writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes(raw));
    await assert.rejects(loadCheckpoint(dir), /unexpected tensor "classifier\.weight"/);
  });

  it('pytorch_model.bin (and a .pt path) is refused: unpickling can run code; the message gives the conversion', async () => {
    const dir = path.join(root, 'pickle');
    await fs.mkdir(dir, { recursive: true });
    const { config } = await writeTinyCheckpoint(path.join(root, 'cfg'), { modelType: 'bert' });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    await fs.writeFile(path.join(dir, 'pytorch_model.bin'), 'PK not really a zip');
    const bin = path.join(dir, 'pytorch_model.bin');
    await assert.rejects(loadCheckpoint(dir), (e: Error) => e.message.startsWith(`${bin}: refusing`)
      && /unpickling can run arbitrary code/.test(e.message)
      && e.message.includes(`M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)`));
    await assert.rejects(loadCheckpoint(path.join(dir, 'weights.pt')), /weights\.pt: refusing/);
  });

  it('an unknown model_type is refused, naming config.json', async () => {
    const dir = path.join(root, 'gpt');
    const { config } = await writeTinyCheckpoint(dir, { modelType: 'bert' });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }));
    await assert.rejects(loadCheckpoint(dir), (e: Error) =>
      e.message.startsWith(`${path.join(dir, 'config.json')}: unsupported model_type "gpt2"`));
  });

  it('a truncated model.safetensors is reported as such, naming the file', async () => {
    const dir = path.join(root, 'truncated');
    await writeTinyCheckpoint(dir, { modelType: 'roberta' });
    const file = path.join(dir, 'model.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(loadCheckpoint(dir), (e: Error) =>
      e.message.startsWith(`${file}: not a valid safetensors file`) && /truncated/.test(e.message));
  });

  it('a folder without config.json or without weights says what a checkpoint folder needs', async () => {
    const dir = path.join(root, 'empty');
    await fs.mkdir(dir, { recursive: true });
    await assert.rejects(loadCheckpoint(dir), /config\.json: not found\. A checkpoint folder needs config\.json and model\.safetensors/);
    const { config } = await writeTinyCheckpoint(path.join(root, 'cfg2'), { modelType: 'bert' });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    await assert.rejects(loadCheckpoint(dir), /model\.safetensors: not found.*safe_serialization=True/);
  });
});
