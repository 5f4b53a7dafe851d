/**
 * Checkpoint tensors → Params: canonical names, the expected key set and shapes, a named list of ignored buffers,
 * and the refusal of pickle-based weight files.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { architectureName, type EncoderConfig } from './config';
import { backbonePrefix, embeddingNames, expectedShapes, headNames } from './param-names';

/** Trainable parameters keyed by their Hugging Face tensor names (see param-names.ts). */
export type Params = Map<string, tf.Variable>;

/** A checkpoint tensor not yet decoded, and the file it is in (for error messages). */
export interface LoadedTensor { shape: number[]; file: string; read(): Float32Array }

/**
 * Tensors that checkpoints carry but the masked LM does not use. Each is matched on the canonical name.
 * - pooler: the [CLS] pooler of BertModel/RobertaModel, never used by the MLM head;
 * - position_ids / token_type_ids: constant index buffers saved by some transformers versions;
 * - cls.seq_relationship: BERT's next-sentence head (BertForPreTraining checkpoints such as bert-base-uncased);
 *   sop_classifier: ALBERT's sentence-order head (AlbertForPreTraining);
 * - decoder.bias: an alias of cls.predictions.bias / lm_head.bias (ALBERT's predictions.decoder.bias: see
 *   `headBiasAlias`);
 * - decoder.weight when tied: HF overwrites it with the word embeddings on load, and so do we.
 */
export function ignoredTensor(name: string, config: EncoderConfig): boolean {
  const p = backbonePrefix(config);
  const head = headNames(config);
  return name.startsWith(`${p}pooler.`)
    || name === `${p}embeddings.position_ids`
    || name === `${p}embeddings.token_type_ids`
    || name.startsWith('cls.seq_relationship.')
    || (config.modelType === 'albert' && name.startsWith('sop_classifier.'))
    || name === 'cls.predictions.decoder.bias' || name === 'lm_head.decoder.bias'
    || (config.modelType === 'albert' && name === ALBERT_DECODER_BIAS)
    || (config.tieWordEmbeddings && name === head.decoder);
}

/** ALBERT's decoder bias: the same parameter as `predictions.bias` (HF ties them), saved as either or both. */
const ALBERT_DECODER_BIAS = 'predictions.decoder.bias';

/**
 * ALBERT checkpoints hold the vocabulary bias as `predictions.bias`, `predictions.decoder.bias` or both (one
 * parameter in AlbertMLMHead; which names a file keeps depends on how it was saved). The canonical name is
 * `predictions.bias`; `predictions.decoder.bias` stands for it only when the file lacks `predictions.bias`
 * (otherwise it is an ignored alias). `canonical`: the file's canonical names.
 */
function headBiasAlias(name: string, config: EncoderConfig, canonical: Set<string>): string {
  if (config.modelType !== 'albert' || name !== ALBERT_DECODER_BIAS) return name;
  const bias = headNames(config).bias;
  return canonical.has(bias) ? name : bias;
}

/**
 * The canonical name of a checkpoint key: adds the missing backbone prefix (`bert.`, `roberta.`, `distilbert.`,
 * `electra.`, `albert.`: bare BertModel-style keys, as HF accepts) and renames TF-era LayerNorm `gamma`/`beta` to
 * `weight`/`bias`.
 */
export function canonicalName(key: string, config: EncoderConfig): string {
  const p = backbonePrefix(config);
  const bare = config.modelType === 'distilbert' ? /^(embeddings|transformer)\./
    : config.modelType === 'electra' ? /^(embeddings|embeddings_project|encoder)\./ : /^(embeddings|encoder|pooler)\./;
  let name = bare.test(key) ? p + key : key;
  name = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  return name;
}

/** A trainable variable holding t's values; t itself is disposed (the variable keeps the data). */
export function toVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

const shapeText = (s: number[]): string => `[${s.join(', ')}]`;

/**
 * Maps checkpoint tensors to Params (decoding only the expected ones), asserting the exact expected key set and shapes.
 * `source` names the checkpoint (file or index) in errors about missing tensors.
 */
export function paramsFromTensors(tensors: Map<string, LoadedTensor>, config: EncoderConfig, source: string): Params {
  const found = matchTensors(tensors, config, source);
  const params: Params = new Map();
  for (const name of expectedShapes(config).keys()) {
    const t = found.get(name)!;
    params.set(name, toVariable(tf.tensor(t.read(), t.shape, 'float32')));
  }
  return params;
}

/**
 * The checkpoint tensors under their canonical names, asserting the exact expected key set and shapes (nothing is
 * decoded: shapes come from the headers). Throws naming `source` (file or index) and the tensors at fault.
 */
export function matchTensors<T extends { shape: number[]; file: string }>(tensors: Map<string, T>, config: EncoderConfig, source: string): Map<string, T> {
  const expected = expectedShapes(config);
  const found = new Map<string, T>();
  const unexpected: string[] = [];
  const canonical = new Set([...tensors.keys()].map((key) => canonicalName(key, config)));
  for (const [key, t] of tensors) {
    const name = headBiasAlias(canonicalName(key, config), config, canonical);
    if (expected.has(name)) found.set(name, t);
    else if (!ignoredTensor(name, config)) unexpected.push(`"${key}" (${t.file})`);
  }
  const missing = [...expected].filter(([name]) => !found.has(name));
  if (missing.length > 0 && config.modelType === 'electra' && [...tensors.keys()].some((k) => k.startsWith('discriminator_predictions.'))) {
    throw new Error(`${source}: this is an ELECTRA discriminator (ElectraForPreTraining: discriminator_predictions, no `
      + 'generator_predictions / generator_lm_head). Only the generator is a masked LM: use an ElectraForMaskedLM '
      + 'checkpoint such as google/electra-small-generator.');
  }
  if (missing.length > 0) {
    const list = missing.slice(0, 5).map(([n, s]) => `"${n}" with shape ${shapeText(s)}`).join(', ');
    throw new Error(`${source}: missing tensor ${list}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. `
      + `The checkpoint does not match config.json (${config.modelType}, ${config.numLayers} layers, hidden `
      + `${config.hiddenSize}${config.tieWordEmbeddings ? '' : ', untied decoder'}).`);
  }
  for (const [name, t] of found) {
    const want = expected.get(name)!;
    if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${t.file}: tensor "${name}" has shape ${shapeText(t.shape)}, expected ${shapeText(want)} `
        + 'from config.json.');
    }
  }
  if (unexpected.length > 0) {
    throw new Error(`${source}: unexpected tensor ${unexpected.slice(0, 5).join(', ')}`
      + `${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''}; this is not a plain `
      + `${architectureName(config)} checkpoint for this config.json.`);
  }
  return found;
}

const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt'];

/** True for weight files in PyTorch's pickle format, which ntk-lens never opens. */
export function isPickleWeights(file: string): boolean {
  return PICKLE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** The error for a pickle-based weight file: why it is refused and the one-line conversion. */
export function pickleRefusal(file: string, autoClass = 'AutoModelForMaskedLM'): Error {
  const dir = path.dirname(file);
  return new Error(`${file}: refusing to load a PyTorch pickle file (.bin/.pt/.ckpt): unpickling can run arbitrary `
    + 'code. Convert it to safetensors once, in Python with transformers installed:\n'
    + `  python -c "from transformers import ${autoClass} as M; M.from_pretrained('${dir}')`
    + `.save_pretrained('${dir}', safe_serialization=True)"`);
}

/** Which part of the model a parameter belongs to (for per-group learning rates and kernel blocks). */
export function parameterGroup(name: string, config: EncoderConfig): 'embeddings' | 'encoder' | 'head' {
  const p = backbonePrefix(config);
  // ELECTRA's embeddings_project and ALBERT's embedding_hidden_mapping_in belong with the embeddings (the model
  // applies them right after them).
  const project = embeddingNames(config).project;
  if (name.startsWith(`${p}embeddings.`) || (project && (name === project.weight || name === project.bias))) return 'embeddings';
  if (name.startsWith(config.modelType === 'distilbert' ? `${p}transformer.` : `${p}encoder.`)) return 'encoder';
  const h = headNames(config);
  if ([h.transform.weight, h.transform.bias, h.norm.weight, h.norm.bias, h.bias, h.decoder].includes(name)) return 'head';
  throw new Error(`model/weights.ts parameterGroup: "${name}" is not a parameter name of a ${config.modelType} masked LM.`);
}

/**
 * Unties the MLM decoder (as the paper's reference code effectively does, paper-and-reference-code.md §3.2): returns
 * a config with tieWordEmbeddings false and Params with a new decoder variable equal to the word embeddings.
 * The word-embedding variable is shared with the input Params, not copied.
 */
export function untieDecoder(config: EncoderConfig, params: Params): { config: EncoderConfig; params: Params } {
  return untieTable(config, params, embeddingNames(config).word, headNames(config).decoder, 'model/weights.ts untieDecoder');
}

/**
 * untieDecoder for any family (ModernBERT's too): tieWordEmbeddings false, and `decoder` a new variable equal to the
 * `word` table, which stays shared with the input Params. A config that is not tied comes back as it is.
 */
export function untieTable<C extends { tieWordEmbeddings: boolean }>(config: C, params: Params, word: string, decoder: string, where: string): { config: C; params: Params } {
  if (!config.tieWordEmbeddings) return { config, params };
  const table = params.get(word);
  if (!table) throw new Error(`${where}: params have no word embeddings ("${word}").`);
  const out: Params = new Map(params);
  out.set(decoder, toVariable(table.clone()));
  return { config: { ...config, tieWordEmbeddings: false }, params: out };
}

/** Disposes every variable of a Params map. */
export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
