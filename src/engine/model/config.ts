/**
 * EncoderConfig: one normalised record for Hugging Face `bert` and `roberta` masked-LM configs (config.json).
 * Only these two model types are accepted; anything else is an error naming the file, never a guess.
 */

export type ModelType = 'bert' | 'roberta';
export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

export interface EncoderConfig {
  readonly modelType: ModelType;
  readonly vocabSize: number; // V
  readonly hiddenSize: number; // H
  readonly numLayers: number;
  readonly numHeads: number; // nh; head size hs = H / nh
  readonly intermediateSize: number; // feed-forward width
  readonly maxPositions: number; // rows of the position-embedding table
  readonly typeVocabSize: number; // BERT 2 (segments A/B); RoBERTa checkpoints 1
  readonly layerNormEps: number; // BERT 1e-12, roberta-base 1e-5
  readonly hiddenAct: HiddenAct; // 'gelu' is exact erf GELU; 'gelu_new'/'gelu_pytorch_tanh' the tanh approximation
  readonly padTokenId: number;
  /**
   * First position id of a real token. BERT: 0 (positions 0..T-1). RoBERTa: padTokenId + 1, because fairseq's
   * position ids count non-pad tokens starting after the padding index, and pad tokens get padTokenId itself.
   */
  readonly positionOffset: number;
  /** The MLM decoder weight is the word-embedding matrix (HF default true). */
  readonly tieWordEmbeddings: boolean;
  readonly hiddenDropout: number;
  readonly attentionDropout: number;
}

const HIDDEN_ACTS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** Hugging Face defaults per model type (BertConfig / RobertaConfig), used when config.json omits a key. */
const DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  bert: { type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0, max_position_embeddings: 512 },
  roberta: { type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 1, max_position_embeddings: 512 },
};

function configError(file: string, message: string): Error {
  return new Error(`${file}: ${message}`);
}

/**
 * Normalises a parsed config.json. `file` is used in error messages only.
 * Throws for an unknown model_type, a missing or non-numeric size, or hidden_size not divisible by the heads.
 */
export function parseEncoderConfig(json: unknown, file: string): EncoderConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw configError(file, 'expected a JSON object (a Hugging Face config.json).');
  }
  const raw = json as Record<string, unknown>;
  const modelType = raw.model_type;
  if (modelType !== 'bert' && modelType !== 'roberta') {
    throw configError(file, `unsupported model_type ${JSON.stringify(modelType)}; ntk-lens supports the masked LMs `
      + 'bert and roberta (e.g. bert-base-uncased, roberta-base) and the causal LMs gpt2, gpt_neox, llama, mistral and '
      + 'qwen2 (e.g. gpt2, EleutherAI/pythia-70m, HuggingFaceTB/SmolLM2-135M).');
  }
  const get = (key: string): unknown => (key in raw ? raw[key] : DEFAULTS[modelType][key]);
  const int = (key: string, min: number): number => {
    const v = get(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw configError(file, `"${key}" must be an integer ≥ ${min}, found ${JSON.stringify(v)}.`);
    }
    return v;
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const v = key in raw ? raw[key] : fallback;
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      throw configError(file, `"${key}" must be a number in [${min}, ${max}], found ${JSON.stringify(v)}.`);
    }
    return v;
  };
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw configError(file, `position_embedding_type ${JSON.stringify(positionType)} is not supported; only "absolute".`);
  }
  const hiddenAct = get('hidden_act');
  if (typeof hiddenAct !== 'string' || !HIDDEN_ACTS.includes(hiddenAct)) {
    throw configError(file, `hidden_act ${JSON.stringify(hiddenAct)} is not supported; use one of ${HIDDEN_ACTS.join(', ')}.`);
  }
  const hiddenSize = int('hidden_size', 1);
  const numHeads = int('num_attention_heads', 1);
  if (hiddenSize % numHeads !== 0) {
    throw configError(file, `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}.`);
  }
  const padTokenId = int('pad_token_id', 0);
  const tie = raw.tie_word_embeddings ?? true;
  if (typeof tie !== 'boolean') throw configError(file, `"tie_word_embeddings" must be true or false, found ${JSON.stringify(tie)}.`);
  return {
    modelType,
    vocabSize: int('vocab_size', 1),
    hiddenSize,
    numLayers: int('num_hidden_layers', 1),
    numHeads,
    intermediateSize: int('intermediate_size', 1),
    maxPositions: int('max_position_embeddings', 1),
    typeVocabSize: int('type_vocab_size', 1),
    layerNormEps: num('layer_norm_eps', DEFAULTS[modelType].layer_norm_eps as number, 0, 1),
    hiddenAct: hiddenAct as HiddenAct,
    padTokenId,
    positionOffset: modelType === 'roberta' ? padTokenId + 1 : 0,
    tieWordEmbeddings: tie,
    hiddenDropout: num('hidden_dropout_prob', 0.1, 0, 0.999),
    attentionDropout: num('attention_probs_dropout_prob', 0.1, 0, 0.999),
  };
}

/** The config.json that `parseEncoderConfig` reads back to `config` (used by saveCheckpoint). */
export function encoderConfigToJson(config: EncoderConfig): Record<string, unknown> {
  return {
    architectures: [config.modelType === 'bert' ? 'BertForMaskedLM' : 'RobertaForMaskedLM'],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositions,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    hidden_act: config.hiddenAct,
    pad_token_id: config.padTokenId,
    tie_word_embeddings: config.tieWordEmbeddings,
    hidden_dropout_prob: config.hiddenDropout,
    attention_probs_dropout_prob: config.attentionDropout,
    position_embedding_type: 'absolute',
  };
}

/** Builds a config in code (tests, pre-training from scratch); unspecified fields take BERT/RoBERTa defaults. */
export function makeEncoderConfig(
  fields: Partial<Omit<EncoderConfig, 'positionOffset'>> & Pick<EncoderConfig, 'modelType'>,
): EncoderConfig {
  const json: Record<string, unknown> = encoderConfigToJson({
    vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512,
    typeVocabSize: fields.modelType === 'roberta' ? 1 : 2,
    layerNormEps: fields.modelType === 'roberta' ? 1e-5 : 1e-12,
    hiddenAct: 'gelu', padTokenId: fields.modelType === 'roberta' ? 1 : 0, positionOffset: 0,
    tieWordEmbeddings: true, hiddenDropout: 0.1, attentionDropout: 0.1,
    ...fields,
  });
  return parseEncoderConfig(json, '<makeEncoderConfig>');
}
