import { strict as assert } from 'node:assert';
import {
  decodeTensor, encodeSafetensors, float16BitsToNumber, numberToFloat16Bits, parseSafetensors,
} from '../../../../src/engine/model';
import { safetensorsBytes } from '../../../support/tiny-checkpoint';

describe('engine/model/safetensors', () => {
  it('converts to and from IEEE half precision bit patterns, rounding to nearest even', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -14, 0x0400],
      [2 ** -24, 0x0001], [2 ** -24 * 3, 0x0003], [Infinity, 0x7c00], [-Infinity, 0xfc00], [70000, 0x7c00],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2⁻¹⁰: ties to the even mantissa (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + 2⁻¹⁰ and 1 + 2⁻⁹: ties to even (1 + 2⁻⁹)
      [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal: ties to 0
      [2 ** -25 * 1.5, 0x0001],
    ];
    for (const [v, bits] of cases) {
      assert.equal(numberToFloat16Bits(v), bits, `${v} → 0x${numberToFloat16Bits(v).toString(16)}`);
    }
    for (const [v, bits] of cases.slice(0, 10)) assert.equal(float16BitsToNumber(bits), v);
    assert.ok(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(NaN))));
  });

  it('writes F32 and F16 files that read back (F32 exactly, F16 rounded) with an 8-byte aligned header', () => {
    const data = Float32Array.from([0.1, -3.25, 1e-3, 7, 0, 123.456]);
    for (const dtype of ['F32', 'F16'] as const) {
      const bytes = encodeSafetensors([{ name: 'w', shape: [2, 3], data }, { name: 'b', shape: [1], data: Float32Array.of(2) }], dtype);
      const st = parseSafetensors(bytes, 'mem.safetensors');
      assert.equal(st.dataStart % 8, 0);
      assert.deepEqual(st.entries.get('w')!.shape, [2, 3]);
      const back = decodeTensor(st, 'w');
      data.forEach((v, i) => {
        const want = dtype === 'F32' ? v : float16BitsToNumber(numberToFloat16Bits(v));
        assert.equal(back[i], Math.fround(want), `${dtype} value ${i}`);
      });
      assert.deepEqual([...decodeTensor(st, 'b')], [2]);
    }
  });

  it('decodes BF16 as the upper half of float32', () => {
    // 1.0 = 0x3F80, -2.5 = 0xC020, 0.15625 = 0x3E20
    const raw = new Uint8Array([0x80, 0x3f, 0x20, 0xc0, 0x20, 0x3e]);
    const st = parseSafetensors(safetensorsBytes([{ name: 'x', dtype: 'BF16', shape: [3], bytes: raw }]), 'bf.safetensors');
    assert.deepEqual([...decodeTensor(st, 'x')], [1, -2.5, 0.15625]);
  });

  it('refuses to decode an integer tensor as weights, naming file, tensor and dtype', () => {
    const st = parseSafetensors(safetensorsBytes([{ name: 'ids', dtype: 'I64', shape: [2], bytes: new Uint8Array(16) }]), 'i.safetensors');
    assert.throws(() => decodeTensor(st, 'ids'), /i\.safetensors: tensor "ids" has dtype I64/);
  });

  it('names the file when it is truncated: in the length, in the header, or in the data', () => {
    const good = encodeSafetensors([{ name: 'w', shape: [4], data: Float32Array.of(1, 2, 3, 4) }], 'F32');
    assert.throws(() => parseSafetensors(good.subarray(0, 5), '/ck/model.safetensors'),
      /\/ck\/model\.safetensors: not a valid safetensors file \(only 5 bytes/);
    assert.throws(() => parseSafetensors(good.subarray(0, 20), '/ck/model.safetensors'),
      /\/ck\/model\.safetensors: .*header length \d+ exceeds/);
    assert.throws(() => parseSafetensors(good.subarray(0, good.length - 3), '/ck/model.safetensors'),
      /\/ck\/model\.safetensors: .*tensor "w" ends at byte 16 .* only 13 bytes.*truncated/);
    const garbage = Uint8Array.from(good);
    garbage[9] = 0x7b; garbage[10] = 0x7b; // "{{" → not JSON
    assert.throws(() => parseSafetensors(garbage, 'g.safetensors'), /g\.safetensors: .*header is not JSON/);
  });
});
