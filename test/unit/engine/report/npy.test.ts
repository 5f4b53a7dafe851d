import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../../../src/engine/report/npy';

const headerText = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(10, 10 + (bytes[8] | (bytes[9] << 8)))).toString('latin1');

function hasNumpy(): boolean {
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  return r.status === 0;
}

describe('report/npy', () => {
  it('writes the v1.0 header byte for byte as numpy: magic, version, length, dict, spare spaces, 64-byte alignment', () => {
    const bytes = encodeNpy({ shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6]) });
    assert.deepEqual(Array.from(bytes.subarray(0, 8)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hlen = bytes[8] | (bytes[9] << 8);
    assert.equal(hlen, 118); // numpy 2.x writes 'v\x00' for this shape
    assert.equal((10 + hlen) % 64, 0);
    const dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    assert.equal(headerText(bytes), dict + ' '.repeat(hlen - dict.length - 1) + '\n');
    assert.equal(bytes.length, 128 + 6 * 8);
    assert.equal(new DataView(bytes.buffer).getFloat64(128 + 8 * 5, true), 6);
  });

  it('writes 1-d shapes as (n,) and 0-d as (), int32 as <i4', () => {
    const v = encodeNpy({ shape: [5], data: Int32Array.from([1, -2, 3, 4, 5]) });
    assert.match(headerText(v), /^\{'descr': '<i4', 'fortran_order': False, 'shape': \(5,\), \} +\n$/);
    const s = encodeNpy({ shape: [], data: Float64Array.from([3]) });
    assert.match(headerText(s), /'shape': \(\), \} +\n$/);
    assert.equal((s[8] + 10) % 64, 0);
  });

  it('round-trips float64 kernels of any rank (incl. [2, N, C, M, C]) and int32 labels through a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'npy-'));
    try {
      const kernel = { shape: [2, 3, 2, 4, 2], data: Float64Array.from({ length: 96 }, (_, i) => Math.sin(i) * 1e5 - i / 7) };
      await writeNpy(path.join(dir, 'k.npy'), kernel);
      const back = await readNpy(path.join(dir, 'k.npy'));
      assert.deepEqual(back.shape, kernel.shape);
      assert.ok(back.data instanceof Float64Array);
      assert.deepEqual(Array.from(back.data), Array.from(kernel.data));
      const labels = { shape: [4], data: Int32Array.from([0, 2, 1, -7]) };
      const lb = decodeNpy(encodeNpy(labels));
      assert.ok(lb.data instanceof Int32Array);
      assert.deepEqual(Array.from(lb.data), [0, 2, 1, -7]);
      const empty = decodeNpy(encodeNpy({ shape: [0, 3], data: new Float64Array(0) }));
      assert.deepEqual(empty.shape, [0, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad files with the file name and what to do', () => {
    assert.throws(() => decodeNpy(new Uint8Array(20), 'x.npy'), /x\.npy: not a \.npy file/);
    const fortran = encodeNpy({ shape: [2, 2], data: new Float64Array(4) });
    const text = headerText(fortran).replace('False', 'True ');
    for (let i = 0; i < text.length; i++) fortran[10 + i] = text.charCodeAt(i);
    assert.throws(() => decodeNpy(fortran, 'f.npy'), /f\.npy: Fortran-order arrays are not supported; re-save with numpy\.ascontiguousarray/);
    assert.throws(() => encodeNpy({ shape: [2, 2], data: new Float64Array(3) }), /3 values for shape \[2,2\]/);
  });

  it('numpy loads what it writes, and writes the same bytes (skipped without python3 + numpy)', function () {
    if (!hasNumpy()) {
      this.skip(); // python3 with numpy is not installed on this machine: the cross-check with numpy cannot run
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'npy-'));
    try {
      const f8 = { shape: [3, 2, 4, 2], data: Float64Array.from({ length: 48 }, (_, i) => (i - 20) / 3) };
      const i4 = { shape: [7], data: Int32Array.from([3, 1, 4, 1, 5, 9, -2]) };
      writeFileSync(path.join(dir, 'ours_f8.npy'), encodeNpy(f8));
      writeFileSync(path.join(dir, 'ours_i4.npy'), encodeNpy(i4));
      const script = [
        'import numpy as np, json, sys',
        'd = sys.argv[1]',
        'a = np.load(d + "/ours_f8.npy"); b = np.load(d + "/ours_i4.npy")',
        'np.save(d + "/np_f8.npy", np.arange(48, dtype="<f8").reshape(3, 2, 4, 2) / 3 - 20 / 3)',
        'np.save(d + "/np_i4.npy", b)',
        'print(json.dumps({"f8": [str(a.dtype), list(a.shape), a.ravel().tolist()], "i4": [str(b.dtype), list(b.shape), b.tolist()]}))',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      assert.deepEqual(got.f8.slice(0, 2), ['float64', [3, 2, 4, 2]]);
      assert.deepEqual(got.f8[2], Array.from(f8.data));
      assert.deepEqual(got.i4, ['int32', [7], [3, 1, 4, 1, 5, 9, -2]]);
      // Byte-identical headers and data (numpy's own file for the same int32 array, and a float64 array of the same shape).
      assert.deepEqual(readFileSync(path.join(dir, 'np_i4.npy')), readFileSync(path.join(dir, 'ours_i4.npy')));
      const theirs = readFileSync(path.join(dir, 'np_f8.npy'));
      assert.deepEqual(theirs.subarray(0, 128), Buffer.from(encodeNpy(f8).subarray(0, 128)));
      const decoded = decodeNpy(theirs);
      decoded.data.forEach((v, i) => assert.ok(Math.abs(v - (i - 20) / 3) < 1e-12));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
