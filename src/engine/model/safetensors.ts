/**
 * The safetensors format: 8-byte little-endian header length n, an n-byte JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {…} }`, then the raw little-endian data
 * (offsets relative to the first byte after the header). Reading decodes F32, F16 and BF16 to float32;
 * writing emits F32 or F16. Tensors are decoded lazily, so unused buffers (e.g. I64 position_ids) never need a decoder.
 */
import { promises as fs } from 'node:fs';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface TensorEntry {
  readonly name: string;
  readonly dtype: string; // as stored; only F32/F16/BF16 can be decoded
  readonly shape: number[];
  readonly begin: number; // byte offsets into the data section
  readonly end: number;
}

/** The parsed header of a safetensors file: its entries in header order, checked against the file's size. */
export interface SafetensorsHeader {
  readonly file: string;
  readonly entries: Map<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  readonly dataStart: number; // 8 + header length
  readonly fileSize: number;
}

/** A parsed safetensors file: its header and the raw bytes the entries point into. */
export interface SafetensorsFile extends SafetensorsHeader {
  readonly bytes: Uint8Array; // the whole file
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

function corrupt(file: string, what: string): Error {
  return new Error(`${file}: not a valid safetensors file (${what}). The file may be truncated or still downloading; `
    + 'delete it and download or convert it again.');
}

/** The largest header the format allows (100 MB, as the reference implementation). */
const MAX_HEADER_BYTES = 100_000_000;

/** The header length stored in the first 8 bytes of a file of `fileSize` bytes, checked against that size. */
function headerLengthOf(head: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || head.length < 8) throw corrupt(file, `only ${fileSize} bytes, no 8-byte header length`);
  const headerLength = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > fileSize - 8) {
    throw corrupt(file, `header length ${headerLength} exceeds the ${fileSize - 8} bytes after it`);
  }
  if (headerLength > MAX_HEADER_BYTES) throw corrupt(file, `header length ${headerLength} exceeds the format's limit of ${MAX_HEADER_BYTES} bytes`);
  return headerLength;
}

/** Parses the header of safetensors bytes and checks every entry against the file size. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  return { ...parseSafetensorsHeader(bytes, bytes.length, file), bytes };
}

/**
 * Parses the header at the start of a safetensors file of `fileSize` bytes (`head`: at least its first 8 + header
 * length bytes) and checks every entry against the file size, without the tensor data.
 */
export function parseSafetensorsHeader(head: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLength = headerLengthOf(head, fileSize, file);
  if (head.length < 8 + headerLength) throw new Error(`model/safetensors.ts parseSafetensorsHeader: ${file}: got ${head.length} bytes, the header needs ${8 + headerLength}.`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(head.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw corrupt(file, `header is not JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt(file, 'header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = v.shape;
    const offsets = v.data_offsets;
    if (typeof v.dtype !== 'string' || !(v.dtype in BYTES_PER_ELEMENT) || !Array.isArray(shape)
      || !shape.every((d) => Number.isInteger(d) && d >= 0) || !Array.isArray(offsets) || offsets.length !== 2) {
      throw corrupt(file, `malformed header entry for tensor "${name}"`);
    }
    const [begin, end] = offsets as number[];
    const expected = (shape as number[]).reduce((p, d) => p * d, 1) * BYTES_PER_ELEMENT[v.dtype];
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end - begin === expected)) {
      throw corrupt(file, `tensor "${name}" has data_offsets [${begin}, ${end}] but ${v.dtype} [${shape}] needs ${expected} bytes`);
    }
    if (end > dataLength) {
      throw corrupt(file, `tensor "${name}" ends at byte ${end} of the data section, which has only ${dataLength} bytes`);
    }
    entries.set(name, { name, dtype: v.dtype, shape: shape as number[], begin, end });
  }
  return { file, entries, metadata, dataStart, fileSize };
}

/** Reads and parses a safetensors file from disk. */
export async function readSafetensorsFile(file: string): Promise<SafetensorsFile> {
  return parseSafetensors(await fs.readFile(file), file);
}

/** Reads only the header of a safetensors file (not its tensor data) and checks it against the file's size. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await fs.open(file, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const first = new Uint8Array(Math.min(8, fileSize));
    await handle.read(first, 0, first.length, 0);
    const head = new Uint8Array(8 + headerLengthOf(first, fileSize, file));
    await handle.read(head, 0, head.length, 0);
    return parseSafetensorsHeader(head, fileSize, file);
  } finally {
    await handle.close();
  }
}

/** IEEE half (binary16) bits → number. */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** number → IEEE half bits, rounding to nearest even (overflow → ±Infinity, as numpy and torch do). */
export function numberToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    // subnormal: shift the mantissa (with its implicit 1) right, round to nearest even
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1))) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // may carry into the exponent; that is correct
  return sign | h;
}

/** Decodes one tensor to float32. Throws (naming file and tensor) for dtypes other than F32, F16, BF16. */
export function decodeTensor(st: SafetensorsFile, name: string): Float32Array {
  const e = st.entries.get(name);
  if (!e) throw new Error(`${st.file}: no tensor named "${name}".`);
  const n = e.shape.reduce((p, d) => p * d, 1);
  const start = st.dataStart + e.begin;
  const view = new DataView(st.bytes.buffer, st.bytes.byteOffset + start, e.end - e.begin);
  const out = new Float32Array(n);
  switch (e.dtype) {
    case 'F32':
      if ((st.bytes.byteOffset + start) % 4 === 0) { // aligned: copy in one go (every supported host is little-endian)
        out.set(new Float32Array(st.bytes.buffer, st.bytes.byteOffset + start, n));
      } else {
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      }
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = float16BitsToNumber(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer); // bf16 is the top half of a float32
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    default:
      throw new Error(`${st.file}: tensor "${name}" has dtype ${e.dtype}; only F32, F16 and BF16 weights can be loaded.`);
  }
  return out;
}

export interface TensorToWrite { name: string; shape: number[]; data: Float32Array }

/** Encodes tensors (in the given order) as safetensors bytes in F32 or F16. The header is padded to 8 bytes. */
export function encodeSafetensors(
  tensors: TensorToWrite[], dtype: 'F32' | 'F16', metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const width = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (n !== t.data.length) throw new Error(`model/safetensors.ts encodeSafetensors: tensor "${t.name}" has shape [${t.shape}] but ${t.data.length} values.`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * width] };
    offset += n * width;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const t of tensors) {
    if (dtype === 'F32') {
      for (let i = 0; i < t.data.length; i++, p += 4) view.setFloat32(p, t.data[i], true);
    } else {
      for (let i = 0; i < t.data.length; i++, p += 2) view.setUint16(p, numberToFloat16Bits(t.data[i]), true);
    }
  }
  return out;
}
