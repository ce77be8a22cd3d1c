import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

// test/golden/pth_features*.pth (written by test/golden/generate_vit.py with PyTorch 1.13):
// base = arange(12).reshape(3, 4) / 8 − 0.5 saved as itself, transposed, one row (a storage
// offset), half, bfloat16, float64, a Parameter, and an int64 tensor, in a nested dict; the second
// file holds the same entries deflate-compressed.
const base = Array.from({ length: 12 }, (_, i) => i / 8 - 0.5);
const transposed = [0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((r) => base[r * 4 + c]));

for (const file of ['pth_features.pth', 'pth_features_deflated.pth']) {
  test(`loadPth reads ${file}: nested dicts, strides, offsets, dtypes`, () => {
    const t = E.loadPth(`test/golden/${file}`);
    const values = (name: string) => Array.from(t.get(name)!.data as Float32Array);
    assert.equal(t.get('plain')!.shape, [3, 4]);
    assert.equal(values('plain'), base);
    assert.equal(t.get('outer.transposed')!.shape, [4, 3]);
    assert.equal(values('outer.transposed'), transposed);
    assert.equal(values('outer.offset'), base.slice(4, 8));
    // All of base's values (multiples of 1/8 in [−0.5, 0.875]) are exact in half and bfloat16.
    for (const name of ['outer.half', 'outer.bf16', 'outer.f64', 'outer.param']) {
      assert.is(t.get(name)!.dtype, 'F32', name);
      assert.equal(values(name), base, name);
    }
    const i64 = t.get('outer.i64')!;
    assert.is(i64.dtype, 'I64');
    assert.equal(Array.from(i64.data as BigInt64Array, Number), [-3, 0, 2 ** 40]);
  });
}

test('loadPth: clear errors for a missing file and for something that is not a checkpoint', () => {
  assert.throws(() => E.loadPth('test/golden/no-such.pth'), /cannot read checkpoint test\/golden\/no-such\.pth/);
  assert.throws(() => E.loadPth('test/golden/vit_tiny_io.safetensors'), /not a zip archive/);
});

test.run();
