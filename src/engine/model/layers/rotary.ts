/**
 * Rotary position embeddings (RoPE) in Hugging Face's "rotate_half" form, on the first `rotaryDim` dims of each head
 * (GPT-NeoX rotates a fraction of each head, the Llama layout all of it). The cos/sin tables are computed in float64
 * on the host for positions 0..T−1 (right padding: real tokens are at 0..len−1 in every row).
 * B batch, n heads, T tokens, hs head size, rd rotaryDim.
 */
import * as tf from '@tensorflow/tfjs';
import type { RotaryConfig } from '../causal/types';

/**
 * inv_freq[i] = 1 / θ^(2i/rd), i < rd/2, with rope_scaling as transformers applies it: linear divides every
 * frequency by the factor (the same as positions / factor); llama3 is `_compute_llama3_parameters` (long wavelengths
 * divided by the factor, short ones kept, the band between interpolated smoothly).
 */
export function rotaryInverseFrequencies(rotary: RotaryConfig): Float64Array {
  const rd = rotary.rotaryDim;
  const inv = new Float64Array(rd / 2);
  for (let i = 0; i < rd / 2; i++) inv[i] = 1 / rotary.theta ** ((2 * i) / rd);
  const s = rotary.scaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < inv.length; i++) inv[i] /= s.factor;
  } else if (s?.type === 'llama3') {
    const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      const scaled = wavelen > lowFreqWavelen ? inv[i] / s.factor : inv[i];
      const mediumFreq = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      if (mediumFreq) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = ((1 - smooth) * scaled) / s.factor + smooth * scaled;
      } else {
        inv[i] = scaled;
      }
    }
  }
  return inv;
}

/** cos and sin of position·inv_freq for positions 0..T−1, each [T, rd] row-major (the frequencies repeated twice: HF's cat(freqs, freqs)). */
export function rotaryTablesOnHost(rotary: RotaryConfig, T: number): { cos: Float64Array; sin: Float64Array } {
  const rd = rotary.rotaryDim;
  const inv = rotaryInverseFrequencies(rotary);
  const cos = new Float64Array(T * rd);
  const sin = new Float64Array(T * rd);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < rd; j++) {
      const angle = t * inv[j % (rd / 2)];
      cos[t * rd + j] = Math.cos(angle);
      sin[t * rd + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** The tables as float32 tensors [T, rd] (created in the caller's tidy). */
export interface RotaryTables { cos: tf.Tensor2D; sin: tf.Tensor2D; rotaryDim: number }

export function rotaryTables(rotary: RotaryConfig, T: number): RotaryTables {
  const { cos, sin } = rotaryTablesOnHost(rotary, T);
  const rd = rotary.rotaryDim;
  return { cos: tf.tensor2d(Float32Array.from(cos), [T, rd]), sin: tf.tensor2d(Float32Array.from(sin), [T, rd]), rotaryDim: rd };
}

/**
 * x [B, n, T, hs] → x with its first rd dims of each head rotated: x_rot·cos + rotate_half(x_rot)·sin, where
 * rotate_half(x) = cat(−x[rd/2:], x[:rd/2]); the other hs − rd dims pass through.
 */
export function applyRotary(x: tf.Tensor4D, tables: RotaryTables): tf.Tensor4D {
  const [B, n, T, hs] = x.shape;
  const rd = tables.rotaryDim;
  if (rd === 0) return x;
  if (rd > hs || rd % 2 !== 0 || tables.cos.shape[0] !== T) {
    throw new Error(`model/layers/rotary.ts applyRotary: tables for ${tables.cos.shape[0]} positions and rotaryDim ${rd} do not fit heads [${x.shape}].`);
  }
  const rot = rd === hs ? x : tf.slice(x, [0, 0, 0, 0], [B, n, T, rd]); // [B, n, T, rd]
  const half = rd / 2;
  const x1 = tf.slice(rot, [0, 0, 0, 0], [B, n, T, half]); // [B, n, T, rd/2]
  const x2 = tf.slice(rot, [0, 0, 0, half], [B, n, T, half]); // [B, n, T, rd/2]
  const rotated = tf.concat([tf.neg(x2), x1], 3); // [B, n, T, rd]
  const out = tf.add(tf.mul(rot, tables.cos), tf.mul(rotated, tables.sin)) as tf.Tensor4D; // [T, rd] broadcasts
  return rd === hs ? out : tf.concat([out, tf.slice(x, [0, 0, 0, rd], [B, n, T, hs - rd])], 3);
}
