import { strict as assert } from 'node:assert';
import { encoderConfigToJson, makeEncoderConfig, parseEncoderConfig } from '../../../../src/engine/model';

const bertBase = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2, hidden_act: 'gelu',
  hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, layer_norm_eps: 1e-12, pad_token_id: 0,
};
const robertaBase = {
  model_type: 'roberta', vocab_size: 50265, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 514, type_vocab_size: 1, hidden_act: 'gelu',
  hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, layer_norm_eps: 1e-5, pad_token_id: 1,
  bos_token_id: 0, eos_token_id: 2,
};

describe('engine/model/config: EncoderConfig from config.json', () => {
  it('normalises bert-base-uncased: positions from 0, tied decoder by default', () => {
    const c = parseEncoderConfig(bertBase, 'bert/config.json');
    assert.deepEqual(c, {
      modelType: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072,
      maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12, hiddenAct: 'gelu', padTokenId: 0, positionOffset: 0,
      tieWordEmbeddings: true, hiddenDropout: 0.1, attentionDropout: 0.1,
    });
  });

  it('normalises roberta-base: positions start at padTokenId + 1 = 2, eps 1e-5, one token type', () => {
    const c = parseEncoderConfig(robertaBase, 'roberta/config.json');
    assert.equal(c.positionOffset, 2);
    assert.equal(c.layerNormEps, 1e-5);
    assert.equal(c.typeVocabSize, 1);
    assert.equal(c.maxPositions, 514);
  });

  it('reads tie_word_embeddings false and fills HF defaults for omitted keys', () => {
    const { pad_token_id: _p, layer_norm_eps: _e, ...rest } = robertaBase;
    const c = parseEncoderConfig({ ...rest, tie_word_embeddings: false }, 'c.json');
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.padTokenId, 1); // RobertaConfig default
    assert.equal(c.layerNormEps, 1e-12); // RobertaConfig default
  });

  it('refuses an unknown model_type, naming the file and the supported types', () => {
    assert.throws(() => parseEncoderConfig({ ...bertBase, model_type: 't5' }, '/m/config.json'),
      /^Error: \/m\/config\.json: unsupported model_type "t5".*masked LMs bert and roberta.*causal LMs gpt2, gpt_neox, llama, mistral and qwen2/);
  });

  it('refuses hidden_size not divisible by the heads, a missing size, and an unknown activation', () => {
    assert.throws(() => parseEncoderConfig({ ...bertBase, num_attention_heads: 5 }, 'x.json'), /x\.json: hidden_size 768 is not divisible/);
    const { vocab_size: _v, ...noVocab } = bertBase;
    assert.throws(() => parseEncoderConfig(noVocab, 'x.json'), /x\.json: "vocab_size" must be an integer/);
    assert.throws(() => parseEncoderConfig({ ...bertBase, hidden_act: 'swish' }, 'x.json'), /x\.json: hidden_act "swish"/);
    assert.throws(() => parseEncoderConfig({ ...bertBase, position_embedding_type: 'relative_key' }, 'x.json'),
      /x\.json: position_embedding_type "relative_key"/);
  });

  it('encoderConfigToJson round-trips through parseEncoderConfig, and makeEncoderConfig fills defaults', () => {
    const c = parseEncoderConfig({ ...robertaBase, tie_word_embeddings: false }, 'c.json');
    assert.deepEqual(parseEncoderConfig(encoderConfigToJson(c), 'again.json'), c);
    const small = makeEncoderConfig({ modelType: 'roberta', vocabSize: 100, hiddenSize: 8, numHeads: 2 });
    assert.equal(small.positionOffset, 2);
    assert.equal(small.numLayers, 12);
  });
});
