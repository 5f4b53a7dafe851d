/**
 * Reading a causal config.json: typed getters with transformers' per-class defaults (save_pretrained omits keys equal
 * to the class default, so a missing key means the default), errors naming the file and the key, and rope_scaling.
 */
import { CAUSAL_ACTIVATIONS } from '../layers/activation';
import type { RotaryConfig } from './types';

export interface ConfigReader {
  /** The raw value (the default when the key is absent). */
  get(key: string): unknown;
  has(key: string): boolean;
  int(key: string, min: number): number;
  /** An integer ≥ min, or undefined when the value is null (or absent with no default). */
  optionalInt(key: string, min: number): number | undefined;
  num(key: string, min: number, max: number): number;
  bool(key: string): boolean;
  /** hidden_act / activation_function: one of CAUSAL_ACTIVATIONS. */
  activation(key: string): string;
  /** A token id: an integer, the first of a list (Llama 3's eos_token_id), or undefined for null/absent. */
  tokenId(key: string): number | undefined;
  error(message: string): Error;
}

export function configReader(raw: Record<string, unknown>, defaults: Record<string, unknown>, file: string): ConfigReader {
  const error = (message: string): Error => new Error(`${file}: ${message}`);
  const has = (key: string): boolean => key in raw && raw[key] !== undefined;
  const get = (key: string): unknown => (has(key) ? raw[key] : defaults[key]);
  const optionalInt = (key: string, min: number): number | undefined => {
    const v = get(key);
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw error(`"${key}" must be an integer ≥ ${min}, found ${JSON.stringify(v)}.`);
    }
    return v;
  };
  return {
    get,
    has,
    error,
    optionalInt,
    int(key, min) {
      const v = optionalInt(key, min);
      if (v === undefined) throw error(`"${key}" must be an integer ≥ ${min}, found ${JSON.stringify(get(key) ?? null)}.`);
      return v;
    },
    num(key, min, max) {
      const v = get(key);
      if (typeof v !== 'number' || !(v >= min && v <= max)) {
        throw error(`"${key}" must be a number in [${min}, ${max}], found ${JSON.stringify(v ?? null)}.`);
      }
      return v;
    },
    bool(key) {
      const v = get(key);
      if (typeof v !== 'boolean') throw error(`"${key}" must be true or false, found ${JSON.stringify(v ?? null)}.`);
      return v;
    },
    activation(key) {
      const v = get(key);
      if (typeof v !== 'string' || !CAUSAL_ACTIVATIONS.includes(v)) {
        throw error(`"${key}" ${JSON.stringify(v ?? null)} is not supported; use one of ${CAUSAL_ACTIVATIONS.join(', ')}.`);
      }
      return v;
    },
    tokenId(key) {
      const v = get(key);
      const id = Array.isArray(v) ? v[0] : v;
      if (id === null || id === undefined) return undefined;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw error(`"${key}" must be a token id (an integer ≥ 0, or a list of them), found ${JSON.stringify(v)}.`);
      }
      return id;
    },
  };
}

/** config `rope_scaling` (key `key`): null, {rope_type|type: "linear", factor} or {rope_type|type: "llama3", …}. */
export function parseRopeScaling(value: unknown, file: string, key = 'rope_scaling'): RotaryConfig['scaling'] {
  if (value === null || value === undefined) return undefined;
  const supported = `ntk-lens supports "${key}": null, {"rope_type": "linear", "factor"} or {"rope_type": "llama3", "factor", `
    + '"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}';
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}: "${key}" must be an object or null; ${supported}.`);
  const s = value as Record<string, unknown>;
  const type = s.rope_type ?? s.type;
  const field = (name: string, min: number, integer = false): number => {
    const v = s[name];
    if (typeof v !== 'number' || !(v >= min) || (integer && !Number.isInteger(v))) {
      throw new Error(`${file}: "${key}.${name}" must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, found ${JSON.stringify(v ?? null)}.`);
    }
    return v;
  };
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { type: 'linear', factor: field('factor', Number.MIN_VALUE) };
    case 'llama3': {
      const lowFreqFactor = field('low_freq_factor', Number.MIN_VALUE);
      const highFreqFactor = field('high_freq_factor', Number.MIN_VALUE);
      if (!(highFreqFactor > lowFreqFactor)) {
        throw new Error(`${file}: "${key}.high_freq_factor" (${highFreqFactor}) must exceed "${key}.low_freq_factor" (${lowFreqFactor}).`);
      }
      return {
        type: 'llama3', factor: field('factor', Number.MIN_VALUE), lowFreqFactor, highFreqFactor,
        originalMaxPositions: field('original_max_position_embeddings', 1, true),
      };
    }
    default:
      throw new Error(`${file}: "${key}" type ${JSON.stringify(type ?? null)} is not supported; ${supported}.`);
  }
}

/** rope_scaling as transformers writes it in config.json (configToJson). */
export function ropeScalingToJson(scaling: RotaryConfig['scaling']): Record<string, unknown> | null {
  if (!scaling) return null;
  if (scaling.type === 'linear') return { rope_type: 'linear', factor: scaling.factor };
  return {
    rope_type: 'llama3', factor: scaling.factor, low_freq_factor: scaling.lowFreqFactor,
    high_freq_factor: scaling.highFreqFactor, original_max_position_embeddings: scaling.originalMaxPositions,
  };
}
