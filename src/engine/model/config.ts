/**
 * EncoderConfig: one normalised record for the Hugging Face masked-LM configs (config.json) of BERT's layout:
 * `bert`, `roberta`, `xlm-roberta` (RoBERTa's layout and names, another vocabulary), `distilbert` (BERT without
 * token types, its own tensor and config names), `electra` (the generator, ElectraForMaskedLM: embeddings of
 * width E ≠ H are projected to H, and its head maps back to E) and `albert` (AlbertForMaskedLM: E-wide embeddings
 * projected to H as ELECTRA's, an H → E head, and ONE layer's weights applied at every one of the L depths).
 * Anything else is an error naming the file, never a guess.
 */

export type ModelType = 'bert' | 'roberta' | 'xlm-roberta' | 'distilbert' | 'electra' | 'albert';
export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

/** The masked-LM model_types parseEncoderConfig reads. */
export const MASKED_MODEL_TYPES: readonly ModelType[] = ['bert', 'roberta', 'xlm-roberta', 'distilbert', 'electra', 'albert'];

export interface EncoderConfig {
  readonly modelType: ModelType;
  readonly vocabSize: number; // V
  readonly hiddenSize: number; // H
  readonly numLayers: number;
  readonly numHeads: number; // nh; head size hs = H / nh
  readonly intermediateSize: number; // feed-forward width
  readonly maxPositions: number; // rows of the position-embedding table
  /** BERT 2 (segments A/B); RoBERTa checkpoints 1; 0: no token-type embeddings at all (DistilBERT). */
  readonly typeVocabSize: number;
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
  /**
   * ELECTRA and ALBERT only (absent for the other types): E, the width of the embedding tables, of the head's output
   * and of the decoder. ELECTRA: when E ≠ H, `electra.embeddings_project` (H×E) maps the embeddings to H; ALBERT
   * always has its `embedding_hidden_mapping_in` (H×E), whatever E.
   */
  readonly embeddingSize?: number;
}

/**
 * Whether every depth applies the same layer's weights (ALBERT with num_hidden_groups = inner_group_num = 1): the
 * forward reads one set of variables L times, and the kernel sums each shared weight's contributions over the depths.
 */
export function sharesLayers(config: EncoderConfig): boolean {
  return config.modelType === 'albert';
}

/** E: the width of the embedding tables and of the decoder (H except for an ELECTRA generator or ALBERT). */
export function embeddingWidth(config: EncoderConfig): number {
  return config.embeddingSize ?? config.hiddenSize;
}

/** RoBERTa's position ids (pad-aware, from padTokenId + 1) rather than BERT's 0..T−1. */
export function robertaPositions(config: EncoderConfig): boolean {
  return config.positionOffset > 0;
}

/** The activation of the MLM head's transform: ELECTRA's generator hard-codes exact GELU (transformers' PyTorch code). */
export function headActivation(config: EncoderConfig): HiddenAct {
  return config.modelType === 'electra' ? 'gelu' : config.hiddenAct;
}

/** The transformers class whose checkpoints this config describes. */
export function architectureName(config: EncoderConfig): string {
  switch (config.modelType) {
    case 'bert': return 'BertForMaskedLM';
    case 'roberta': return 'RobertaForMaskedLM';
    case 'xlm-roberta': return 'XLMRobertaForMaskedLM';
    case 'distilbert': return 'DistilBertForMaskedLM';
    case 'electra': return 'ElectraForMaskedLM';
    case 'albert': return 'AlbertForMaskedLM';
  }
}

const HIDDEN_ACTS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** Hugging Face defaults per model type (BertConfig / RobertaConfig / …), used when config.json omits a key. */
const DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  bert: { type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0, max_position_embeddings: 512 },
  roberta: { type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 1, max_position_embeddings: 512 },
  'xlm-roberta': { type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 1, max_position_embeddings: 512 },
  // DistilBertConfig: its own key names; LayerNorm eps is fixed at 1e-12 in the model code (no config key).
  distilbert: { activation: 'gelu', pad_token_id: 0, max_position_embeddings: 512, sinusoidal_pos_embds: false },
  electra: {
    type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0, max_position_embeddings: 512,
    embedding_size: 128,
  },
  // AlbertConfig (albert-base-v2 writes every key; these are transformers' defaults).
  albert: {
    type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu_new', pad_token_id: 0, max_position_embeddings: 512,
    embedding_size: 128, num_hidden_groups: 1, inner_group_num: 1,
  },
};

function configError(file: string, message: string): Error {
  return new Error(`${file}: ${message}`);
}

/** DistilBertConfig's names for the BertConfig keys read here (its config.json has only these). */
const DISTILBERT_KEYS: Record<string, string> = {
  hidden_size: 'dim', num_hidden_layers: 'n_layers', num_attention_heads: 'n_heads', intermediate_size: 'hidden_dim',
  hidden_act: 'activation', hidden_dropout_prob: 'dropout', attention_probs_dropout_prob: 'attention_dropout',
};

const SUPPORTED_TEXT = 'ntk-lens supports the masked LMs bert and roberta (e.g. bert-base-uncased, roberta-base), plus '
  + 'xlm-roberta, distilbert, electra, albert and modernbert (e.g. xlm-roberta-base, distilbert-base-uncased, the generator '
  + 'google/electra-small-generator, albert-base-v2, answerdotai/ModernBERT-base), and the causal LMs gpt2, gpt_neox, llama, mistral and qwen2 (e.g. gpt2, '
  + 'EleutherAI/pythia-70m, HuggingFaceTB/SmolLM2-135M).';

/** Why a model_type that is a masked LM of another layout is not read (the error says so instead of only "unsupported"). */
const NOT_SUPPORTED_WHY: Record<string, string> = {
  modernbert: 'ModernBERT is read by model/modernbert/, not as a BERT-layout config',
};

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
  if (typeof modelType !== 'string' || !(MASKED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    const why = typeof modelType === 'string' && NOT_SUPPORTED_WHY[modelType] ? ` (${NOT_SUPPORTED_WHY[modelType]})` : '';
    throw configError(file, `unsupported model_type ${JSON.stringify(modelType)}${why}; ${SUPPORTED_TEXT}`);
  }
  const type = modelType as ModelType;
  const distil = type === 'distilbert';
  const keyOf = (key: string): string => (distil ? DISTILBERT_KEYS[key] ?? key : key); // the name in this config.json
  const get = (key: string): unknown => (keyOf(key) in raw ? raw[keyOf(key)] : DEFAULTS[type][keyOf(key)]);
  const int = (key: string, min: number): number => {
    const v = get(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw configError(file, `"${keyOf(key)}" must be an integer ≥ ${min}, found ${JSON.stringify(v)}.`);
    }
    return v;
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const v = keyOf(key) in raw ? raw[keyOf(key)] : fallback;
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      throw configError(file, `"${keyOf(key)}" must be a number in [${min}, ${max}], found ${JSON.stringify(v)}.`);
    }
    return v;
  };
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw configError(file, `position_embedding_type ${JSON.stringify(positionType)} is not supported; only "absolute".`);
  }
  if (distil && get('sinusoidal_pos_embds') !== false) {
    throw configError(file, `"sinusoidal_pos_embds" is ${JSON.stringify(get('sinusoidal_pos_embds'))}: fixed sinusoidal position `
      + 'embeddings (not trained) are not supported; only DistilBERT checkpoints with learned positions (false, as '
      + 'distilbert-base-uncased) can be loaded.');
  }
  const hiddenAct = get('hidden_act');
  if (typeof hiddenAct !== 'string' || !HIDDEN_ACTS.includes(hiddenAct)) {
    throw configError(file, `${keyOf('hidden_act')} ${JSON.stringify(hiddenAct)} is not supported; use one of ${HIDDEN_ACTS.join(', ')}.`);
  }
  const hiddenSize = int('hidden_size', 1);
  const numHeads = int('num_attention_heads', 1);
  if (hiddenSize % numHeads !== 0) {
    throw configError(file, `${keyOf('hidden_size')} ${hiddenSize} is not divisible by ${keyOf('num_attention_heads')} ${numHeads}.`);
  }
  if (type === 'albert') {
    // Several layer groups, or several layers inside a group, would be several weight sets (no released ALBERT has them).
    const groups = get('num_hidden_groups');
    const inner = get('inner_group_num');
    if (groups !== 1 || inner !== 1) {
      throw configError(file, `"num_hidden_groups" is ${JSON.stringify(groups)} and "inner_group_num" is ${JSON.stringify(inner)}: `
        + 'ntk-lens reads ALBERT with one layer group of one layer (num_hidden_groups = inner_group_num = 1, as every '
        + 'released ALBERT checkpoint), whose weights every depth shares.');
    }
  }
  const padTokenId = int('pad_token_id', 0);
  const tie = raw.tie_word_embeddings ?? true;
  if (typeof tie !== 'boolean') throw configError(file, `"tie_word_embeddings" must be true or false, found ${JSON.stringify(tie)}.`);
  const roberta = type === 'roberta' || type === 'xlm-roberta';
  return {
    modelType: type,
    vocabSize: int('vocab_size', 1),
    hiddenSize,
    numLayers: int('num_hidden_layers', 1),
    numHeads,
    intermediateSize: int('intermediate_size', 1),
    maxPositions: int('max_position_embeddings', 1),
    typeVocabSize: distil ? 0 : int('type_vocab_size', 1),
    layerNormEps: distil ? 1e-12 : num('layer_norm_eps', DEFAULTS[type].layer_norm_eps as number, 0, 1),
    hiddenAct: hiddenAct as HiddenAct,
    padTokenId,
    positionOffset: roberta ? padTokenId + 1 : 0,
    tieWordEmbeddings: tie,
    hiddenDropout: num('hidden_dropout_prob', 0.1, 0, 0.999),
    attentionDropout: num('attention_probs_dropout_prob', 0.1, 0, 0.999),
    ...(type === 'electra' || type === 'albert' ? { embeddingSize: int('embedding_size', 1) } : {}),
  };
}

/** The config.json that `parseEncoderConfig` reads back to `config` (used by saveCheckpoint). */
export function encoderConfigToJson(config: EncoderConfig): Record<string, unknown> {
  const common = {
    architectures: [architectureName(config)],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositions,
    pad_token_id: config.padTokenId,
    tie_word_embeddings: config.tieWordEmbeddings,
  };
  if (config.modelType === 'distilbert') {
    return {
      ...common,
      dim: config.hiddenSize,
      n_layers: config.numLayers,
      n_heads: config.numHeads,
      hidden_dim: config.intermediateSize,
      activation: config.hiddenAct,
      dropout: config.hiddenDropout,
      attention_dropout: config.attentionDropout,
      sinusoidal_pos_embds: false,
    };
  }
  return {
    ...common,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropout,
    attention_probs_dropout_prob: config.attentionDropout,
    position_embedding_type: 'absolute',
    ...(config.modelType === 'electra' || config.modelType === 'albert' ? { embedding_size: embeddingWidth(config) } : {}),
    ...(config.modelType === 'albert' ? { num_hidden_groups: 1, inner_group_num: 1 } : {}),
  };
}

/**
 * Builds a config in code (tests, pre-training from scratch); unspecified fields take the type's defaults (RoBERTa's
 * for xlm-roberta; DistilBERT: no token types, LayerNorm eps 1e-12 whatever is given; ELECTRA, ALBERT: E = H unless
 * given).
 */
export function makeEncoderConfig(
  fields: Partial<Omit<EncoderConfig, 'positionOffset'>> & Pick<EncoderConfig, 'modelType'>,
): EncoderConfig {
  const roberta = fields.modelType === 'roberta' || fields.modelType === 'xlm-roberta';
  const json: Record<string, unknown> = encoderConfigToJson({
    vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512,
    typeVocabSize: roberta ? 1 : fields.modelType === 'distilbert' ? 0 : 2,
    layerNormEps: roberta ? 1e-5 : 1e-12,
    hiddenAct: 'gelu', padTokenId: roberta ? 1 : 0, positionOffset: 0,
    tieWordEmbeddings: true, hiddenDropout: 0.1, attentionDropout: 0.1,
    ...fields,
  });
  return parseEncoderConfig(json, '<makeEncoderConfig>');
}
