/**
 * Dense projections of the causal LMs, with an optional bias: nn.Linear (weight [out, in], y = x Wᵀ + b) and GPT-2's
 * Conv1D (weight [in, out], y = x W + b). Every product goes through backend mm/mmBT. N rows (B·T or B).
 * With a recorder (recorder.ts: the structured eNTK's recording) the output is reported as a dense site.
 */
import * as tf from '@tensorflow/tfjs';
import { mm, mmBT } from '../../backend/matmul';
import { param } from '../layer-ops';
import type { Params } from '../weights';
import type { LayerRecorder } from './recorder';

/** A projection's tensor names; `bias` absent when the layer has none (Llama's projections). */
export interface LinearNames { weight: string; bias?: string }

/** nn.Linear: x [N, in], weight [out, in] → x Wᵀ (+ b) [N, out]. */
export function linear(params: Params, names: LinearNames, x: tf.Tensor2D, rec?: LayerRecorder): tf.Tensor2D {
  const y = mmBT(x, param(params, names.weight)); // [N, out]
  return recorded(params, names, x, names.bias === undefined ? y : tf.add(y, param(params, names.bias)), rec);
}

/** GPT-2's Conv1D: x [N, in], weight [in, out] → x W (+ b) [N, out]. */
export function conv1d(params: Params, names: LinearNames, x: tf.Tensor2D, rec?: LayerRecorder): tf.Tensor2D {
  const y = mm(x, param(params, names.weight)); // [N, out]
  return recorded(params, names, x, names.bias === undefined ? y : tf.add(y, param(params, names.bias)), rec);
}

function recorded(params: Params, names: LinearNames, x: tf.Tensor2D, y: tf.Tensor2D, rec: LayerRecorder | undefined): tf.Tensor2D {
  if (!rec) return y;
  return rec.dense(y, x, param(params, names.weight), names.bias === undefined ? undefined : param(params, names.bias));
}
