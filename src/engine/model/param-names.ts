/**
 * The Hugging Face tensor names of BertForMaskedLM and RobertaForMaskedLM, and the shape each must have.
 * Params are keyed by these canonical names (with the `bert.`/`roberta.` prefix, as HF saves ForMaskedLM models).
 */
import type { EncoderConfig } from './config';

export interface DenseNames { weight: string; bias: string } // weight [out, in], bias [out]
export interface NormNames { weight: string; bias: string } // LayerNorm gamma, beta [H]

export interface EmbeddingNames { word: string; position: string; tokenType: string; norm: NormNames }
export interface LayerNames {
  query: DenseNames; key: DenseNames; value: DenseNames; attentionOutput: DenseNames; attentionNorm: NormNames;
  intermediate: DenseNames; output: DenseNames; outputNorm: NormNames;
}
export interface HeadNames {
  transform: DenseNames; norm: NormNames;
  bias: string; // [V]
  decoder: string; // [V, H], a separate entry only when the decoder is untied
}

/** 'bert.' or 'roberta.': the prefix of the backbone's tensors. */
export function backbonePrefix(config: EncoderConfig): string {
  return `${config.modelType}.`;
}

const dense = (p: string): DenseNames => ({ weight: `${p}.weight`, bias: `${p}.bias` });

export function embeddingNames(config: EncoderConfig): EmbeddingNames {
  const p = `${backbonePrefix(config)}embeddings`;
  return {
    word: `${p}.word_embeddings.weight`,
    position: `${p}.position_embeddings.weight`,
    tokenType: `${p}.token_type_embeddings.weight`,
    norm: dense(`${p}.LayerNorm`),
  };
}

export function layerNames(config: EncoderConfig, i: number): LayerNames {
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
  return config.modelType === 'bert'
    ? {
      transform: dense('cls.predictions.transform.dense'),
      norm: dense('cls.predictions.transform.LayerNorm'),
      bias: 'cls.predictions.bias',
      decoder: 'cls.predictions.decoder.weight',
    }
    : {
      transform: dense('lm_head.dense'),
      norm: dense('lm_head.layer_norm'),
      bias: 'lm_head.bias',
      decoder: 'lm_head.decoder.weight',
    };
}

/** Every parameter the model needs, in checkpoint order, with its shape. */
export function expectedShapes(config: EncoderConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I } = config;
  const shapes = new Map<string, number[]>();
  const addDense = (d: DenseNames, out: number, inp: number): void => {
    shapes.set(d.weight, [out, inp]);
    shapes.set(d.bias, [out]);
  };
  const e = embeddingNames(config);
  shapes.set(e.word, [V, H]);
  shapes.set(e.position, [config.maxPositions, H]);
  shapes.set(e.tokenType, [config.typeVocabSize, H]);
  shapes.set(e.norm.weight, [H]);
  shapes.set(e.norm.bias, [H]);
  for (let i = 0; i < config.numLayers; i++) {
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
  addDense(h.transform, H, H);
  shapes.set(h.norm.weight, [H]);
  shapes.set(h.norm.bias, [H]);
  shapes.set(h.bias, [V]);
  if (!config.tieWordEmbeddings) shapes.set(h.decoder, [V, H]);
  return shapes;
}
