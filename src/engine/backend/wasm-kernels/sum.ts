/**
 * A `Sum` kernel for the wasm backend over float32 when the reduced axes are the leading ones (column sums: every
 * bias and LayerNorm gradient of a [B·T, H] activation) or the trailing ones (row sums), by reduce.c's single SIMD
 * passes. tfjs-backend-wasm 4.22 transposes a tensor before reducing its leading axes and then sums with a scalar
 * loop: 27 ms for the [4096, 512] bias gradient of a pre-training step, about 1 ms with sum_columns. Other axis sets
 * and dtypes go to the package's own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from '../replace-kernel';
import { bind, offsetOf, type WasmBackend } from './module';

/** Replaces the wasm backend's `Sum` for leading or trailing reductions; keeps the package's kernel for the rest. */
export function registerWasmSum(): void {
  if (!tf.getKernel('Sum', 'wasm')) return; // the wasm package is not loaded
  replaceKernel('Sum', 'wasm', (own) => sum(own!.kernelFunc));
}

function sum(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === rank - axes.length + i);
    if (x.dtype !== 'float32' || rank === 0 || axes.length === 0 || !(leading || trailing) || x.shape.includes(0)) return fallback(args);
    const split = leading ? axes.length : rank - axes.length; // rows = ∏ shape[0, split), cols = ∏ shape[split, rank)
    const rows = x.shape.slice(0, split).reduce((p, d) => p * d, 1);
    const cols = x.shape.slice(split).reduce((p, d) => p * d, 1);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const be = backend as unknown as WasmBackend;
    const out = be.makeOutput(keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i)), 'float32');
    const fn = bind(be).fn;
    (leading ? fn.sum_columns : fn.sum_rows)(offsetOf(be, x), rows, cols, offsetOf(be, out));
    return out;
  };
}
