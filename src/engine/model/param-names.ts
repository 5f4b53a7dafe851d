/**
 * The Hugging Face tensor names of the masked LMs (BertForMaskedLM, RobertaForMaskedLM, XLMRobertaForMaskedLM,
 * DistilBertForMaskedLM, ElectraForMaskedLM, AlbertForMaskedLM), and the shape each must have. Params are keyed by
 * these canonical names (with the backbone prefix, as HF saves ForMaskedLM models). All six share BERT's
 * computation, so the model code and the structured recording work on the roles below (query, key, …, head
 * transform) and never on the names. ALBERT's roles of layer i are the same names for every i (one shared layer):
 * the forward then reads the same variables at every depth.
 */
import { embeddingWidth, sharesLayers, type EncoderConfig } from './config';

export interface DenseNames { weight: string; bias: string } // weight [out, in], bias [out]
export interface NormNames { weight: string; bias: string } // LayerNorm gamma, beta

export interface EmbeddingNames {
  word: string; position: string;
  /** Absent when the model has no token-type embeddings (DistilBERT). */
  tokenType?: string;
  norm: NormNames;
  /**
   * The H×E dense layer after the embeddings' LayerNorm: ELECTRA with E ≠ H (`electra.embeddings_project`), ALBERT
   * always (`albert.encoder.embedding_hidden_mapping_in`).
   */
  project?: DenseNames;
}
export interface LayerNames {
  query: DenseNames; key: DenseNames; value: DenseNames; attentionOutput: DenseNames; attentionNorm: NormNames;
  intermediate: DenseNames; output: DenseNames; outputNorm: NormNames;
}
export interface HeadNames {
  transform: DenseNames; norm: NormNames;
  bias: string; // [V]
  decoder: string; // [V, E], a separate entry only when the decoder is untied
}

/** 'bert.', 'roberta.' (RoBERTa and XLM-RoBERTa), 'distilbert.', 'electra.' or 'albert.': the prefix of the backbone's tensors. */
export function backbonePrefix(config: EncoderConfig): string {
  return config.modelType === 'xlm-roberta' ? 'roberta.' : `${config.modelType}.`;
}

const dense = (p: string): DenseNames => ({ weight: `${p}.weight`, bias: `${p}.bias` });

export function embeddingNames(config: EncoderConfig): EmbeddingNames {
  const p = `${backbonePrefix(config)}embeddings`;
  return {
    word: `${p}.word_embeddings.weight`,
    position: `${p}.position_embeddings.weight`,
    ...(config.typeVocabSize > 0 ? { tokenType: `${p}.token_type_embeddings.weight` } : {}),
    norm: dense(`${p}.LayerNorm`),
    ...(config.modelType === 'albert' ? { project: dense('albert.encoder.embedding_hidden_mapping_in') }
      : embeddingWidth(config) !== config.hiddenSize ? { project: dense(`${backbonePrefix(config)}embeddings_project`) } : {}),
  };
}

/** How many distinct layers hold weights: L, or 1 when every depth shares one layer (ALBERT). */
export function distinctLayers(config: EncoderConfig): number {
  return sharesLayers(config) ? 1 : config.numLayers;
}

/** The tensor names of the layer at depth i (ALBERT: the one shared layer, whatever i). */
export function layerNames(config: EncoderConfig, i: number): LayerNames {
  if (config.modelType === 'albert') {
    // AlbertTransformer: albert_layer_groups[0].albert_layers[0] at every depth (num_hidden_groups = inner_group_num = 1).
    const p = 'albert.encoder.albert_layer_groups.0.albert_layers.0';
    return {
      query: dense(`${p}.attention.query`),
      key: dense(`${p}.attention.key`),
      value: dense(`${p}.attention.value`),
      attentionOutput: dense(`${p}.attention.dense`),
      attentionNorm: dense(`${p}.attention.LayerNorm`),
      intermediate: dense(`${p}.ffn`),
      output: dense(`${p}.ffn_output`),
      outputNorm: dense(`${p}.full_layer_layer_norm`),
    };
  }
  if (config.modelType === 'distilbert') {
    const p = `distilbert.transformer.layer.${i}`;
    return {
      query: dense(`${p}.attention.q_lin`),
      key: dense(`${p}.attention.k_lin`),
      value: dense(`${p}.attention.v_lin`),
      attentionOutput: dense(`${p}.attention.out_lin`),
      attentionNorm: dense(`${p}.sa_layer_norm`),
      intermediate: dense(`${p}.ffn.lin1`),
      output: dense(`${p}.ffn.lin2`),
      outputNorm: dense(`${p}.output_layer_norm`),
    };
  }
  const p = `${backbonePrefix(config)}encoder.layer.${i}`;
  return {
    query: dense(`${p}.attention.self.query`),
    key: dense(`${p}.attention.self.key`),
    value: dense(`${p}.attention.self.value`),
    attentionOutput: dense(`${p}.attention.output.dense`),
    attentionNorm: dense(`${p}.attention.output.LayerNorm`),
    intermediate: dense(`${p}.intermediate.dense`),
    output: dense(`${p}.output.dense`),
    outputNorm: dense(`${p}.output.LayerNorm`),
  };
}

export function headNames(config: EncoderConfig): HeadNames {
  switch (config.modelType) {
    case 'bert':
      return {
        transform: dense('cls.predictions.transform.dense'),
        norm: dense('cls.predictions.transform.LayerNorm'),
        bias: 'cls.predictions.bias',
        decoder: 'cls.predictions.decoder.weight',
      };
    case 'roberta':
    case 'xlm-roberta':
      return { transform: dense('lm_head.dense'), norm: dense('lm_head.layer_norm'), bias: 'lm_head.bias', decoder: 'lm_head.decoder.weight' };
    case 'distilbert':
      return {
        transform: dense('vocab_transform'), norm: dense('vocab_layer_norm'), bias: 'vocab_projector.bias', decoder: 'vocab_projector.weight',
      };
    case 'electra':
      return {
        transform: dense('generator_predictions.dense'),
        norm: dense('generator_predictions.LayerNorm'),
        bias: 'generator_lm_head.bias',
        decoder: 'generator_lm_head.weight',
      };
    case 'albert':
      // AlbertMLMHead; `predictions.decoder.bias` is an alias of `predictions.bias` (weights.ts reads either).
      return {
        transform: dense('predictions.dense'),
        norm: dense('predictions.LayerNorm'),
        bias: 'predictions.bias',
        decoder: 'predictions.decoder.weight',
      };
  }
}

/** The attention weights LoRA factors attach to by default (query, key, value, attention output) in this naming. */
export function maskedLoraTarget(config: EncoderConfig): RegExp {
  if (config.modelType === 'distilbert') return /attention\.(q_lin|k_lin|v_lin|out_lin)\.weight$/;
  if (config.modelType === 'albert') return /albert_layers\.0\.attention\.(query|key|value|dense)\.weight$/;
  return /attention\.(self\.(query|key|value)|output\.dense)\.weight$/;
}

/** Every parameter the model needs, in checkpoint order, with its shape. */
export function expectedShapes(config: EncoderConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I } = config;
  const E = embeddingWidth(config);
  const shapes = new Map<string, number[]>();
  const addDense = (d: DenseNames, out: number, inp: number): void => {
    shapes.set(d.weight, [out, inp]);
    shapes.set(d.bias, [out]);
  };
  const e = embeddingNames(config);
  shapes.set(e.word, [V, E]);
  shapes.set(e.position, [config.maxPositions, E]);
  if (e.tokenType) shapes.set(e.tokenType, [config.typeVocabSize, E]);
  shapes.set(e.norm.weight, [E]);
  shapes.set(e.norm.bias, [E]);
  if (e.project) addDense(e.project, H, E);
  for (let i = 0; i < distinctLayers(config); i++) {
    const l = layerNames(config, i);
    addDense(l.query, H, H);
    addDense(l.key, H, H);
    addDense(l.value, H, H);
    addDense(l.attentionOutput, H, H);
    shapes.set(l.attentionNorm.weight, [H]);
    shapes.set(l.attentionNorm.bias, [H]);
    addDense(l.intermediate, I, H);
    addDense(l.output, H, I);
    shapes.set(l.outputNorm.weight, [H]);
    shapes.set(l.outputNorm.bias, [H]);
  }
  const h = headNames(config);
  addDense(h.transform, E, H);
  shapes.set(h.norm.weight, [E]);
  shapes.set(h.norm.bias, [E]);
  shapes.set(h.bias, [V]);
  if (!config.tieWordEmbeddings) shapes.set(h.decoder, [V, E]);
  return shapes;
}
