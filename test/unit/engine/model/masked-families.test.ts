/**
 * XLM-RoBERTa, DistilBERT, the ELECTRA generator and ALBERT beside BERT and RoBERTa: config.json parsing (with located
 * errors), expected shapes, the checkpoint round trip, random init, parameter groups, the loader dispatch that
 * preflight uses, and logits against the independent float64 reference (test/support/reference-mlm.ts).
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import {
  disposeParams, encode, encoderConfigToJson, expectedShapes, loadCheckpoint, makeEncoderConfig, mlmLogits,
  parameterGroup, parseEncoderConfig, randomParams, saveCheckpoint, type EncoderConfig,
} from '../../../../src/engine/model';
import { MASKED_MODEL_TYPES } from '../../../../src/engine/model/config';
import { inspectAnyCheckpoint, loadAnyCheckpoint } from '../../../../src/engine/model/load';
import { backbonePrefix, distinctLayers, embeddingNames, layerNames, maskedLoraTarget } from '../../../../src/engine/model/param-names';
import { referenceMlmLogits } from '../../../support/reference-mlm';
import { safetensorsBytes, writeTinyCheckpoint, type TinySpec } from '../../../support/tiny-checkpoint';
import { engineLogits, maxAbsDiff, type Batch } from '../../../support/engine-logits';

// The config.json files of the hub checkpoints (as published).
const xlmrBase = {
  architectures: ['XLMRobertaForMaskedLM'], attention_probs_dropout_prob: 0.1, bos_token_id: 0, eos_token_id: 2,
  hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: 768, initializer_range: 0.02, intermediate_size: 3072,
  layer_norm_eps: 1e-5, max_position_embeddings: 514, model_type: 'xlm-roberta', num_attention_heads: 12,
  num_hidden_layers: 12, output_past: true, pad_token_id: 1, position_embedding_type: 'absolute', type_vocab_size: 1,
  use_cache: true, vocab_size: 250002,
};
const distilbertBase = {
  activation: 'gelu', architectures: ['DistilBertForMaskedLM'], attention_dropout: 0.1, dim: 768, dropout: 0.1,
  hidden_dim: 3072, initializer_range: 0.02, max_position_embeddings: 512, model_type: 'distilbert', n_heads: 12,
  n_layers: 6, pad_token_id: 0, qa_dropout: 0.1, seq_classif_dropout: 0.2, sinusoidal_pos_embds: false,
  tie_weights_: true, vocab_size: 30522,
};
const electraSmallGenerator = {
  architectures: ['ElectraForMaskedLM'], attention_probs_dropout_prob: 0.1, embedding_size: 128, hidden_act: 'gelu',
  hidden_dropout_prob: 0.1, hidden_size: 256, initializer_range: 0.02, intermediate_size: 1024, layer_norm_eps: 1e-12,
  max_position_embeddings: 512, model_type: 'electra', num_attention_heads: 4, num_hidden_layers: 12,
  pad_token_id: 0, type_vocab_size: 2, vocab_size: 30522,
};

const albertBaseV2 = {
  architectures: ['AlbertForMaskedLM'], attention_probs_dropout_prob: 0, bos_token_id: 2, classifier_dropout_prob: 0.1,
  down_scale_factor: 1, embedding_size: 128, eos_token_id: 3, gap_size: 0, hidden_act: 'gelu_new', hidden_dropout_prob: 0,
  hidden_size: 768, initializer_range: 0.02, inner_group_num: 1, intermediate_size: 3072, layer_norm_eps: 1e-12,
  max_position_embeddings: 512, model_type: 'albert', net_structure_type: 0, num_attention_heads: 12,
  num_hidden_groups: 1, num_hidden_layers: 12, num_memory_blocks: 0, pad_token_id: 0, type_vocab_size: 2,
  vocab_size: 30000,
};

const count = (c: EncoderConfig): number => [...expectedShapes(c).values()].reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);

describe('engine/model: XLM-RoBERTa, DistilBERT, ELECTRA generator and ALBERT configs', () => {
  it('xlm-roberta-base: RoBERTa\'s layout (roberta. prefix, positions from 2), 278,295,186 parameters as HF counts', () => {
    const c = parseEncoderConfig(xlmrBase, 'xlmr/config.json');
    assert.equal(c.modelType, 'xlm-roberta');
    assert.equal(c.positionOffset, 2);
    assert.equal(c.typeVocabSize, 1);
    assert.equal(c.layerNormEps, 1e-5);
    assert.equal(c.embeddingSize, undefined);
    assert.equal(backbonePrefix(c), 'roberta.');
    assert.equal(count(c), 278295186);
  });

  it('distilbert-base-uncased: its own keys, no token types, eps 1e-12, 66,985,530 parameters', () => {
    const c = parseEncoderConfig(distilbertBase, 'distil/config.json');
    assert.deepEqual(c, {
      modelType: 'distilbert', vocabSize: 30522, hiddenSize: 768, numLayers: 6, numHeads: 12, intermediateSize: 3072,
      maxPositions: 512, typeVocabSize: 0, layerNormEps: 1e-12, hiddenAct: 'gelu', padTokenId: 0, positionOffset: 0,
      tieWordEmbeddings: true, hiddenDropout: 0.1, attentionDropout: 0.1,
    });
    assert.equal(embeddingNames(c).tokenType, undefined);
    assert.equal(count(c), 66985530);
  });

  it('google/electra-small-generator: E = 128, H = 256, embeddings_project and an H → E head', () => {
    const c = parseEncoderConfig(electraSmallGenerator, 'electra/config.json');
    assert.equal(c.embeddingSize, 128);
    assert.equal(c.positionOffset, 0);
    const shapes = expectedShapes(c);
    assert.deepEqual(shapes.get('electra.embeddings.word_embeddings.weight'), [30522, 128]);
    assert.deepEqual(shapes.get('electra.embeddings_project.weight'), [256, 128]);
    assert.deepEqual(shapes.get('generator_predictions.dense.weight'), [128, 256]);
    assert.deepEqual(shapes.get('generator_predictions.LayerNorm.weight'), [128]);
    assert.deepEqual(shapes.get('generator_lm_head.bias'), [30522]);
    assert.equal(shapes.has('generator_lm_head.weight'), false, 'tied: the decoder is the word embedding');
    // With E = H there is no projection (ElectraModel creates embeddings_project only when the sizes differ).
    const same = parseEncoderConfig({ ...electraSmallGenerator, embedding_size: 256 }, 'e.json');
    assert.equal(embeddingNames(same).project, undefined);
    // ElectraConfig's default embedding_size is 128.
    const { embedding_size: _e, ...noE } = electraSmallGenerator;
    assert.equal(parseEncoderConfig(noE, 'e.json').embeddingSize, 128);
  });

  it('albert-base-v2: E = 128, H = 768, ONE layer\'s tensors for 12 depths, 11,221,680 parameters', () => {
    const c = parseEncoderConfig(albertBaseV2, 'albert/config.json');
    assert.equal(c.modelType, 'albert');
    assert.equal(c.embeddingSize, 128);
    assert.equal(c.numLayers, 12);
    assert.equal(c.hiddenAct, 'gelu_new');
    assert.equal(c.positionOffset, 0);
    assert.equal(distinctLayers(c), 1);
    const shapes = expectedShapes(c);
    assert.deepEqual(shapes.get('albert.embeddings.word_embeddings.weight'), [30000, 128]);
    assert.deepEqual(shapes.get('albert.encoder.embedding_hidden_mapping_in.weight'), [768, 128]);
    assert.deepEqual(shapes.get('albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight'), [3072, 768]);
    assert.deepEqual(shapes.get('albert.encoder.albert_layer_groups.0.albert_layers.0.ffn_output.weight'), [768, 3072]);
    assert.deepEqual(shapes.get('predictions.dense.weight'), [128, 768]);
    assert.deepEqual(shapes.get('predictions.bias'), [30000]);
    assert.equal(shapes.has('predictions.decoder.weight'), false, 'tied: the decoder is the word embedding');
    assert.equal([...shapes.keys()].filter((n) => n.includes('albert_layers')).length, 16, 'one layer: 16 tensors');
    // Every depth names the same shared tensors.
    assert.deepEqual(layerNames(c, 11), layerNames(c, 0));
    // AlbertModel's published 11,683,584 parameters, less its pooler (768·768 + 768), plus the MLM head
    // (128·768 + 128 dense, 2·128 LayerNorm, 30,000 bias; the decoder is tied).
    assert.equal(count(c), 11683584 - (768 * 768 + 768) + (128 * 768 + 128 + 2 * 128 + 30000));
    // With E = H the projection is still there (AlbertTransformer always has embedding_hidden_mapping_in).
    assert.notEqual(embeddingNames(parseEncoderConfig({ ...albertBaseV2, embedding_size: 768 }, 'a.json')).project, undefined);
  });

  it('ALBERT with several layer groups or several layers per group is refused, naming config.json and the values', () => {
    assert.throws(() => parseEncoderConfig({ ...albertBaseV2, num_hidden_groups: 2 }, '/m/config.json'),
      /^Error: \/m\/config\.json: "num_hidden_groups" is 2 and "inner_group_num" is 1: ntk-lens reads ALBERT with one layer group of one layer/);
    assert.throws(() => parseEncoderConfig({ ...albertBaseV2, inner_group_num: 3 }, '/m/config.json'),
      /^Error: \/m\/config\.json: "num_hidden_groups" is 1 and "inner_group_num" is 3:/);
    // AlbertConfig's defaults (1 and 1) when the keys are absent.
    const { num_hidden_groups: _g, inner_group_num: _i, ...noGroups } = albertBaseV2;
    assert.equal(parseEncoderConfig(noGroups, 'a.json').modelType, 'albert');
  });

  it('errors name the file and the key in the family\'s own spelling', () => {
    assert.throws(() => parseEncoderConfig({ ...distilbertBase, sinusoidal_pos_embds: true }, '/d/config.json'),
      /^Error: \/d\/config\.json: "sinusoidal_pos_embds" is true: fixed sinusoidal position embeddings/);
    const { dim: _d, ...noDim } = distilbertBase;
    assert.throws(() => parseEncoderConfig(noDim, 'd.json'), /^Error: d\.json: "dim" must be an integer ≥ 1, found undefined/);
    assert.throws(() => parseEncoderConfig({ ...distilbertBase, n_heads: 5 }, 'd.json'), /d\.json: dim 768 is not divisible by n_heads 5/);
    assert.throws(() => parseEncoderConfig({ ...distilbertBase, activation: 'swish' }, 'd.json'), /d\.json: activation "swish" is not supported/);
    assert.throws(() => parseEncoderConfig({ ...electraSmallGenerator, embedding_size: 0 }, 'e.json'), /e\.json: "embedding_size" must be an integer ≥ 1/);
    assert.throws(() => parseEncoderConfig({ model_type: 'modernbert' }, 'm.json'),
      /^Error: m\.json: unsupported model_type "modernbert" \(ModernBERT is read by model\/modernbert\/.*masked LMs bert and roberta.*xlm-roberta, distilbert, electra, albert and modernbert/);
    assert.deepEqual([...MASKED_MODEL_TYPES], ['bert', 'roberta', 'xlm-roberta', 'distilbert', 'electra', 'albert']);
  });

  it('encoderConfigToJson round-trips every family; DistilBERT writes DistilBertConfig\'s keys', () => {
    for (const json of [xlmrBase, distilbertBase, electraSmallGenerator, albertBaseV2]) {
      const c = parseEncoderConfig({ ...json, tie_word_embeddings: false }, 'c.json');
      assert.deepEqual(parseEncoderConfig(encoderConfigToJson(c), 'again.json'), c);
    }
    assert.deepEqual(encoderConfigToJson(parseEncoderConfig(albertBaseV2, 'a.json')).architectures, ['AlbertForMaskedLM']);
    assert.equal(makeEncoderConfig({ modelType: 'albert', hiddenSize: 64, numHeads: 2 }).embeddingSize, 64);
    const d = encoderConfigToJson(parseEncoderConfig(distilbertBase, 'd.json'));
    assert.equal(d.dim, 768);
    assert.equal(d.hidden_size, undefined);
    assert.deepEqual(d.architectures, ['DistilBertForMaskedLM']);
    assert.equal(makeEncoderConfig({ modelType: 'electra', hiddenSize: 64, numHeads: 2 }).embeddingSize, 64);
    assert.equal(makeEncoderConfig({ modelType: 'xlm-roberta', hiddenSize: 8, numHeads: 2 }).positionOffset, 2);
  });

  it('parameterGroup places every parameter (embeddings_project, embedding_hidden_mapping_in with the embeddings) and LoRA targets 4 per distinct layer', () => {
    for (const json of [xlmrBase, distilbertBase, electraSmallGenerator, albertBaseV2]) {
      const c = parseEncoderConfig({ ...json, tie_word_embeddings: false }, 'c.json');
      const groups = { embeddings: 0, encoder: 0, head: 0 };
      for (const name of expectedShapes(c).keys()) groups[parameterGroup(name, c)] += 1;
      const emb = c.modelType === 'distilbert' ? 4 : c.modelType === 'electra' || c.modelType === 'albert' ? 7 : 5;
      const layers = c.modelType === 'albert' ? 1 : c.numLayers;
      assert.deepEqual(groups, { embeddings: emb, encoder: 16 * layers, head: 6 }, c.modelType);
      const lora = [...expectedShapes(c).keys()].filter((n) => maskedLoraTarget(c).test(n));
      assert.equal(lora.length, 4 * layers, c.modelType);
      assert.throws(() => parameterGroup('cls.predictions.bias', c), /is not a parameter name of a/);
    }
  });
});

describe('engine/model: XLM-RoBERTa, DistilBERT, ELECTRA generator and ALBERT checkpoints against the float64 reference', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-families-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  const cases: { title: string; spec: TinySpec; batch: Batch }[] = [
    {
      title: 'XLM-RoBERTa, F32, tied, left and right padding, pooler and position_ids ignored',
      spec: { modelType: 'xlm-roberta', dtype: 'F32', extras: true },
      batch: { ids: [[0, 8, 9, 10, 2], [1, 1, 0, 36, 2], [0, 5, 2, 1, 1]], mask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 1, 0, 0]] },
    },
    {
      title: 'XLM-RoBERTa, F16, untied decoder, keys without the roberta. prefix',
      spec: { modelType: 'xlm-roberta', dtype: 'F16', tied: false, stripPrefix: true },
      batch: { ids: [[0, 30, 31, 32, 2, 1]], mask: [[1, 1, 1, 1, 1, 0]] },
    },
    {
      title: 'DistilBERT, F32, tied, right padding, token type ids given (and ignored: it has none)',
      spec: { modelType: 'distilbert', dtype: 'F32', extras: true },
      batch: {
        ids: [[2, 5, 9, 3, 7, 11, 3], [2, 30, 4, 3, 0, 0, 0]], mask: [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]],
        types: [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]],
      },
    },
    {
      title: 'DistilBERT, BF16, untied decoder, relu, 2 shards, keys without the distilbert. prefix',
      spec: { modelType: 'distilbert', dtype: 'BF16', tied: false, hiddenAct: 'relu', shards: 2, stripPrefix: true },
      batch: { ids: [[2, 13, 14, 3]], mask: [[1, 1, 1, 1]] },
    },
    {
      title: 'ELECTRA generator, F32, tied, E = 12 ≠ H = 16 (embeddings_project), gelu_new in the encoder, exact GELU in the head',
      spec: { modelType: 'electra', dtype: 'F32', hiddenAct: 'gelu_new' },
      batch: { ids: [[2, 5, 9, 3, 7, 3], [2, 8, 3, 0, 0, 0]], mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], types: [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]] },
    },
    {
      title: 'ELECTRA generator, F16, untied, E = H (no projection), keys without electra., position_ids ignored',
      spec: { modelType: 'electra', dtype: 'F16', tied: false, embeddingSize: 16, stripPrefix: true, extras: true },
      batch: { ids: [[2, 21, 22, 3]], mask: [[1, 1, 1, 1]], types: [[0, 0, 1, 1]] },
    },
    {
      title: 'ALBERT, F32, tied, 3 depths of one shared layer, E = 12 ≠ H = 16, gelu_new, bias under both names, pooler/SOP/position_ids ignored',
      spec: { modelType: 'albert', dtype: 'F32', layers: 3, albertBias: 'both', extras: true },
      batch: { ids: [[2, 5, 9, 4, 7, 3], [2, 8, 3, 0, 0, 0]], mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], types: [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]] },
    },
    {
      title: 'ALBERT, F16, untied, 4 depths, relu, only predictions.decoder.bias, 2 shards, keys without albert.',
      spec: { modelType: 'albert', dtype: 'F16', tied: false, layers: 4, hiddenAct: 'relu', albertBias: 'decoder', shards: 2, stripPrefix: true },
      batch: { ids: [[2, 21, 22, 4, 3]], mask: [[1, 1, 1, 1, 1]], types: [[0, 0, 1, 1, 1]] },
    },
    {
      title: 'ALBERT, BF16, tied, E = H = 16 (the projection is still applied), 5 depths, exact gelu',
      spec: { modelType: 'albert', dtype: 'BF16', embeddingSize: 16, layers: 5, hiddenAct: 'gelu' },
      batch: { ids: [[2, 30, 31, 32, 3, 0]], mask: [[1, 1, 1, 1, 1, 0]] },
    },
  ];

  cases.forEach(({ title, spec, batch }, i) => {
    it(`${title}: logits equal the reference to 1e-5`, async () => {
      const ckpt = await writeTinyCheckpoint(path.join(root, `case${i}`), { ...spec, seed: 300 + i });
      const { config, params } = await loadCheckpoint(ckpt.dir);
      try {
        assert.equal(config.modelType, spec.modelType);
        const got = engineLogits(config, params, batch);
        const want = referenceMlmLogits(ckpt.config, ckpt.weights, batch.ids, batch.mask, batch.types);
        const scale = Math.max(...want.flat(2).map(Math.abs));
        assert.ok(scale > 0.5, `logits should be of order 1, max |logit| = ${scale}`);
        const err = maxAbsDiff(got, want, batch.mask);
        assert.ok(err <= 1e-5, `max |engine − reference| = ${err}`);
        if (spec.modelType === 'distilbert' && batch.types) {
          const noTypes = engineLogits(config, params, { ids: batch.ids, mask: batch.mask });
          assert.equal(maxAbsDiff(noTypes, got), 0, 'token types must not change DistilBERT logits');
        }
      } finally {
        disposeParams(params);
      }
    });
  });

  it('ELECTRA\'s head applies exact GELU whatever hidden_act says (relu here), and that choice matters by > 1e-2', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'electra-act'), { modelType: 'electra', hiddenAct: 'relu', seed: 9 });
    const batch = { ids: [[2, 5, 9, 3]], mask: [[1, 1, 1, 1]] };
    const { config, params } = await loadCheckpoint(ckpt.dir);
    try {
      const want = referenceMlmLogits(ckpt.config, ckpt.weights, batch.ids, batch.mask);
      assert.ok(maxAbsDiff(engineLogits(config, params, batch), want) <= 1e-5);
      // The same head with relu (hidden_act) instead: dense → relu → LayerNorm → tied decoder + bias.
      const withRelu = tf.tidy(() => {
        const h = encode(params, config, { inputIds: tf.tensor2d(batch.ids, undefined, 'int32'), attentionMask: tf.tensor2d(batch.mask, undefined, 'int32') }, { training: false });
        const u = tf.relu(tf.add(tf.matMul(h.reshape([4, 16]), params.get('generator_predictions.dense.weight')!, false, true), params.get('generator_predictions.dense.bias')!));
        const { mean, variance } = tf.moments(u, -1, true);
        const t = tf.add(tf.mul(tf.div(tf.sub(u, mean), tf.sqrt(tf.add(variance, 1e-12))), params.get('generator_predictions.LayerNorm.weight')!), params.get('generator_predictions.LayerNorm.bias')!);
        return tf.add(tf.matMul(t, params.get('electra.embeddings.word_embeddings.weight')!, false, true), params.get('generator_lm_head.bias')!).reshape([1, 4, 37]).arraySync() as number[][][];
      });
      assert.ok(maxAbsDiff(withRelu, want) > 1e-2, `a relu head differs by only ${maxAbsDiff(withRelu, want)}`);
    } finally {
      disposeParams(params);
    }
  });

  it('ALBERT: the depths share one layer — the same checkpoint read as 1 or 3 depths gives different logits, and the engine keeps 16 layer tensors', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'albert-depths'), { modelType: 'albert', layers: 3, seed: 21 });
    const batch = { ids: [[2, 5, 9, 4, 3]], mask: [[1, 1, 1, 1, 1]] };
    const { config, params } = await loadCheckpoint(ckpt.dir);
    try {
      assert.equal([...params.keys()].filter((n) => n.includes('albert_layers')).length, 16);
      const three = engineLogits(config, params, batch);
      const one = engineLogits({ ...config, numLayers: 1 }, params, batch);
      assert.ok(maxAbsDiff(three, one) > 1e-2, 'applying the shared layer 3 times must differ from once');
      assert.ok(maxAbsDiff(one, referenceMlmLogits({ ...ckpt.config, num_hidden_layers: 1 }, ckpt.weights, batch.ids, batch.mask)) <= 1e-5);
    } finally {
      disposeParams(params);
    }
  });

  it('ALBERT: a config.json with num_hidden_groups 2 is refused by inspectAnyCheckpoint (preflight), naming the file', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'albert-groups'), { modelType: 'albert', seed: 5 });
    const file = path.join(ckpt.dir, 'config.json');
    await fs.writeFile(file, JSON.stringify({ ...ckpt.config, num_hidden_groups: 2 }));
    await assert.rejects(inspectAnyCheckpoint(ckpt.dir), (e: Error) => e.message.startsWith(`${file}: "num_hidden_groups" is 2`));
  });

  for (const modelType of ['xlm-roberta', 'distilbert', 'electra', 'albert'] as const) {
    it(`${modelType}: random init, save (F32, 2 shards) and load back bit for bit; loadAnyCheckpoint and inspectAnyCheckpoint (preflight) take the masked loader`, async () => {
      const config = makeEncoderConfig({
        modelType, vocabSize: 40, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 16,
        tieWordEmbeddings: modelType !== 'distilbert', ...(modelType === 'electra' || modelType === 'albert' ? { embeddingSize: 6 } : {}),
      });
      const params = randomParams(config, 4);
      const dir = path.join(root, `roundtrip-${modelType}`);
      try {
        // Random init: padding rows zero, LayerNorm γ = 1, biases 0.
        const emb = embeddingNames(config);
        const word = params.get(emb.word)!.arraySync() as number[][];
        assert.ok(word[config.padTokenId].every((v) => v === 0), 'padding row of the word embeddings');
        assert.ok(word[config.padTokenId + 1].some((v) => v !== 0));
        const pos = params.get(emb.position)!.arraySync() as number[][];
        assert.equal(pos[config.padTokenId].every((v) => v === 0), modelType === 'xlm-roberta', 'RoBERTa-style padding row of the positions');
        assert.ok((params.get(emb.norm.weight)!.arraySync() as number[]).every((v) => v === 1));
        if (emb.project) assert.ok((params.get(emb.project.bias)!.arraySync() as number[]).every((v) => v === 0));
        assert.deepEqual([...params.keys()], [...expectedShapes(config).keys()]);

        await saveCheckpoint(dir, config, params, { shards: 2 });
        const saved = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(saved.model_type, modelType);
        const loaded = await loadAnyCheckpoint(dir);
        try {
          assert.deepEqual(loaded.config, config);
          for (const [k, v] of params) assert.deepEqual(loaded.params.get(k)!.dataSync(), v.dataSync(), k);
        } finally {
          disposeParams(loaded.params);
        }
        const inspected = await inspectAnyCheckpoint(dir);
        assert.deepEqual(inspected.config, config);
        assert.match(inspected.weightsFile, /model\.safetensors\.index\.json$/);
      } finally {
        disposeParams(params);
      }
    });
  }

  it('inspectAnyCheckpoint (preflight) reads a ModernBERT folder with ModernBERT\'s config rules, naming config.json', async () => {
    for (const [type, why] of [['modernbert', /"hidden_size" 8 is not divisible by "num_attention_heads" 12/]] as const) {
      const dir = path.join(root, `unsupported-${type}`);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: type, hidden_size: 8 }));
      await fs.writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes([]));
      await assert.rejects(inspectAnyCheckpoint(dir), (e: Error) => e.message.startsWith(path.join(dir, 'config.json')) && why.test(e.message));
    }
  });

  it('an unexpected tensor is refused naming the family\'s class; a training forward pass leaves no tensor', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'distil-extra'), { modelType: 'distilbert', seed: 2 });
    const extraDir = path.join(root, 'distil-classifier');
    await fs.mkdir(extraDir, { recursive: true });
    await fs.copyFile(path.join(ckpt.dir, 'config.json'), path.join(extraDir, 'config.json'));
    const bytes = safetensorsBytes([
      ...[...ckpt.weights].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(Float32Array.from(t.values).buffer) })),
      { name: 'pre_classifier.weight', dtype: 'F32', shape: [2], bytes: new Uint8Array(8) },
    ]);
    await fs.writeFile(path.join(extraDir, 'model.safetensors'), bytes);
    await assert.rejects(loadCheckpoint(extraDir), /unexpected tensor "pre_classifier\.weight".*not a plain DistilBertForMaskedLM checkpoint/);

    // An ELECTRA discriminator folder: said to be one, with the generator to use instead.
    const disc = await writeTinyCheckpoint(path.join(root, 'electra-disc'), { modelType: 'electra', seed: 4 });
    const discDir = path.join(root, 'electra-disc-only');
    await fs.mkdir(discDir, { recursive: true });
    await fs.copyFile(path.join(disc.dir, 'config.json'), path.join(discDir, 'config.json'));
    await fs.writeFile(path.join(discDir, 'model.safetensors'), safetensorsBytes([
      ...[...disc.weights].filter(([name]) => name.startsWith('electra.'))
        .map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(Float32Array.from(t.values).buffer) })),
      { name: 'discriminator_predictions.dense.weight', dtype: 'F32', shape: [2], bytes: new Uint8Array(8) },
    ]));
    await assert.rejects(inspectAnyCheckpoint(discDir), /this is an ELECTRA discriminator \(ElectraForPreTraining.*google\/electra-small-generator/);

    for (const modelType of ['distilbert', 'electra'] as const) {
      const { config, params } = await loadCheckpoint((await writeTinyCheckpoint(path.join(root, `leak-${modelType}`), { modelType, seed: 3 })).dir);
      const inputIds = tf.tensor2d([[2, 5, 9, 3]], undefined, 'int32');
      const attentionMask = tf.tensor2d([[1, 1, 1, 0]], undefined, 'int32');
      const before = tf.memory().numTensors;
      for (const training of [false, true]) {
        const h = encode(params, config, { inputIds, attentionMask }, { training, seed: 1 });
        const flat = h.reshape([4, config.hiddenSize]) as tf.Tensor2D;
        const logits = mlmLogits(params, config, flat, [4, 5]);
        tf.dispose([h, flat, logits]);
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([inputIds, attentionMask]);
      disposeParams(params);
    }
  });
});
