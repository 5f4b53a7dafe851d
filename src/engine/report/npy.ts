/**
 * NumPy `.npy` files (format version 1.0; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * kernels as float64 '<f8' and labels as int32 '<i4', C order, any shape.
 *
 * Layout: the magic "\x93NUMPY", version bytes 1 0, a little-endian uint16 header length, then the ASCII header
 * "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + spaces + "\n", then the raw little-endian data.
 * Written byte for byte as numpy ≥ 1.23 writes it: after the dict come (21 − digits of shape[0]) spare spaces
 * (numpy's GROWTH_AXIS_MAX_DIGITS, for in-place appending), then padding so that the data starts at a multiple of 64.
 *
 * Reading also accepts versions 2.0/3.0 (uint32 header length) and the dtypes '<f4' (widened to float64) and '<i8'
 * (narrowed to int32 when every value fits).
 */
import { promises as fs } from 'node:fs';

export interface NpyArray {
  shape: number[];
  /** Float64Array is written as '<f8', Int32Array as '<i4'. */
  data: Float64Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

function shapeRepr(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The bytes of a `.npy` file holding `arr`. */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const { shape, data } = arr;
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`report/npy.ts: invalid shape [${shape}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`report/npy.ts: ${data.length} values for shape [${shape}] (${size} expected)`);
  const descr = data instanceof Float64Array ? '<f8' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const hlen = header.length + 1; // + '\n'
  const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ARRAY_ALIGN); // numpy pads a full 64 when aligned
  const headerLen = hlen + padlen;
  if (headerLen > 0xffff) throw new Error(`report/npy.ts: header of ${headerLen} bytes is too long for .npy version 1.0`);
  const itemSize = data instanceof Float64Array ? 8 : 4;
  const out = new Uint8Array(MAGIC.length + 4 + headerLen + size * itemSize);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  const view = new DataView(out.buffer);
  view.setUint16(8, headerLen, true);
  const text = header + ' '.repeat(padlen) + '\n';
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  const offset = 10 + headerLen;
  for (let i = 0; i < size; i++) {
    if (data instanceof Float64Array) view.setFloat64(offset + 8 * i, data[i], true);
    else view.setInt32(offset + 4 * i, data[i], true);
  }
  return out;
}

/** Parses the bytes of a `.npy` file; `source` names the file in error messages. */
export function decodeNpy(bytes: Uint8Array, source = '<bytes>'): NpyArray {
  const fail = (why: string): never => {
    throw new Error(`report/npy.ts: ${source}: ${why}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (the magic string \\x93NUMPY is missing)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (headerStart + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail(`cannot parse the header ${JSON.stringify(header)}`);
  if (fortran === 'True') fail("Fortran-order arrays are not supported; re-save with numpy.ascontiguousarray");
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(d) || d < 0) fail(`invalid dimension '${s}' in the shape`);
      return d;
    });
  const size = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  const item = new Map([['<f8', 8], ['<f4', 4], ['<i4', 4], ['<i8', 8]]).get(descr);
  if (item === undefined) return fail(`dtype '${descr}' is not supported; use float64 ('<f8') or int32 ('<i4')`);
  if (bytes.length < offset + size * item) fail(`the data holds ${bytes.length - offset} bytes, ${size * item} expected for shape [${shape}]`);
  if (descr === '<f8' || descr === '<f4') {
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = descr === '<f8' ? view.getFloat64(offset + 8 * i, true) : view.getFloat32(offset + 4 * i, true);
    return { shape, data };
  }
  const data = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    if (descr === '<i4') data[i] = view.getInt32(offset + 4 * i, true);
    else {
      const v = view.getBigInt64(offset + 8 * i, true);
      if (v > 2147483647n || v < -2147483648n) fail(`int64 value ${v} at index ${i} does not fit int32`);
      data[i] = Number(v);
    }
  }
  return { shape, data };
}

export async function writeNpy(file: string, arr: NpyArray): Promise<void> {
  await fs.writeFile(file, encodeNpy(arr));
}

export async function readNpy(file: string): Promise<NpyArray> {
  return decodeNpy(await fs.readFile(file), file);
}
