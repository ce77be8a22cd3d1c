import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, read } from './helpers.js';

// Fixtures from test/golden/generate_dinov2_reg_posembed.py (PyTorch 1.13; the tiny model is built by
// the official dinov2 DinoVisionTransformer with interpolate_antialias=True, interpolate_offset=0).
const RESIZES = E.loadSafetensors('test/golden/dinov2_reg_posembed.safetensors');
const CASES = JSON.parse(RESIZES.metadata.resizes) as [number, number, number][];
const REG_HUB = 'test/golden/vit_tiny_reg_hub.pth';
const REG_IO = E.loadSafetensors('test/golden/vit_tiny_reg_io.safetensors').tensors;
const HEADS = 2; // width 16: shapes cannot tell the head count

const f64 = (t: E.HostTensor) => Float64Array.from(t.data as Float32Array);
const want = (name: string) => f64(RESIZES.tensors.get(name)!);
const wantIo = (name: string) => f64(REG_IO.get(name)!);

/** Wy · P · Wxᵀ per channel in float64: grid [M, M, C] → [gh, gw, C]. */
function applySeparable(grid: Float64Array, m: number, c: number, wy: Float32Array, gh: number, wx: Float32Array, gw: number): Float64Array {
  const out = new Float64Array(gh * gw * c);
  for (let y = 0; y < gh; y++)
    for (let x = 0; x < gw; x++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const w = wy[y * m + i] * wx[x * m + j];
          if (w) for (let k = 0; k < c; k++) out[(y * gw + x) * c + k] += w * grid[(i * m + j) * c + k];
        }
  return out;
}

/** The four ways F.interpolate was called: [fixture prefix, antialias, offset]. */
const VARIANTS: [string, boolean, number][] = [
  ['aa', true, 0],
  ['aa01', true, 0.1],
  ['plain', false, 0],
  ['plain01', false, 0.1],
];

// Catches, against F.interpolate itself: antialiasing off (the plain matrix for a `_reg` model),
// the support not widened by the scale when shrinking (37→16, 6→2), PyTorch's plain a = −0.75 in the
// antialiased filter or clamped border taps instead of dropped-and-renormalised ones (both show when
// enlarging 5→7, where antialiased ≠ plain bicubic), and in/out instead of 1/scale_factor as the
// scale when an offset is given (aa01, plain01).
test('1-D bicubic matrices (antialiased and plain) reproduce F.interpolate on every golden case', () => {
  for (const [m, gh, gw] of CASES) {
    const grid = want(`grid_${m}`);
    for (const [prefix, antialias, offset] of VARIANTS) {
      const scale = (g: number) => (offset ? m / (g + offset) : m / g);
      const matrix = antialias ? E.bicubicAntialiasMatrix : E.bicubicMatrix;
      const got = applySeparable(grid, m, 3, matrix(m, gh, scale(gh)), gh, matrix(m, gw, scale(gw)), gw);
      // f32 weights (≤ 37 taps) on O(1) values against a float64 resize: rounding ~1e-6.
      assertClose(got, want(`${prefix}_${m}_${gh}x${gw}`), 1e-5, 1e-5, `${prefix} ${m}→${gh}×${gw}`);
    }
  }
  // Antialiased rows sum to 1 after normalisation, even with the border cut off.
  const w = E.bicubicAntialiasMatrix(37, 16, 37 / 16);
  for (let r = 0; r < 16; r++) assert.ok(Math.abs(w.subarray(r * 37, r * 37 + 37).reduce((a, b) => a + b, 0) - 1) < 1e-6, `row ${r}`);
});

// Catches: interpolatePatchPositions not routing `antialias` to the antialiased matrix, or mixing up
// the row (gh) and column (gw) matrices on the non-square outputs.
test('interpolatePatchPositions on the GPU matches F.interpolate for both filters and offsets', async () => {
  for (const [m, gh, gw] of CASES) {
    const p = E.tensor(RESIZES.tensors.get(`grid_${m}`)!.data as Float32Array, [m * m, 3]);
    for (const [prefix, antialias, offset] of VARIANTS) {
      const y = E.interpolatePatchPositions(p, gh, gw, offset, antialias);
      assertClose(await read(y), want(`${prefix}_${m}_${gh}x${gw}`), 1e-5, 1e-5, `${prefix} ${m}→${gh}×${gw}`);
      y.dispose();
    }
    p.dispose();
  }
});

/** Rows [from, to) of the token axis of x_prenorm [B, T, D], flattened. */
function prenorm(from: number, to: number): Float64Array {
  const [b, t, d] = REG_IO.get('x_prenorm')!.shape;
  const all = wantIo('x_prenorm');
  const out: number[] = [];
  for (let i = 0; i < b; i++) out.push(...all.subarray((i * t + from) * d, (i * t + to) * d));
  return Float64Array.from(out);
}

// Catches: a `_reg` checkpoint resized with the no-register rule (offset 0.1, no antialiasing) —
// shown below to be far off — or with only one of the two settings switched.
test('a tiny _reg ViT built by the official dinov2 code: same tokens at a resized input size', async () => {
  const model = E.loadDinov2(REG_HUB, { numHeads: HEADS });
  assert.equal([model.config.numRegisters, model.config.interpolateOffset, model.config.interpolateAntialias], [2, 0, true]);
  const io = REG_IO.get('input')!;
  const x = E.tensor(io.data as Float32Array, io.shape);
  const y = model.forward(x);
  assert.equal(y.grid, [3, 4]); // 6×6 pretraining grid → 3×4: shrunk by 2 and 1.5
  // f32 through 2 blocks, as test/vit.test.ts.
  assertClose(await read(y.clsToken), prenorm(0, 1), 1e-4, 1e-4, 'CLS (prenorm)');
  assertClose(await read(y.registerTokens), prenorm(1, 3), 1e-4, 1e-4, 'registers (prenorm)');
  assertClose(await read(y.patchTokens), prenorm(3, 15), 1e-4, 1e-4, 'patches (prenorm)');
  assertClose(await read(y.xNormClsToken), wantIo('x_norm_clstoken'), 1e-4, 1e-4, 'x_norm_clstoken');
  assertClose(await read(y.xNormRegTokens), wantIo('x_norm_regtokens'), 1e-4, 1e-4, 'x_norm_regtokens');
  assertClose(await read(y.xNormPatchTokens), wantIo('x_norm_patchtokens'), 1e-4, 1e-4, 'x_norm_patchtokens');
  for (const [gh, gw] of [[3, 4], [9, 5], [2, 6]]) {
    const pos = model.positions(gh, gw, gh * 4, gw * 4);
    assertClose(await read(pos), wantIo(`pos_embed_${gh}x${gw}`), 1e-5, 1e-5, `interpolate_pos_encoding ${gh}×${gw}`);
  }
  model.dispose();
  x.dispose();
  // The fixture tells the rules apart: the no-register rule misses the official positions widely.
  const wrong = E.loadDinov2(REG_HUB, { numHeads: HEADS, interpolateOffset: 0.1, interpolateAntialias: false });
  const got = await read(wrong.positions(3, 4, 12, 16));
  const ref = wantIo('pos_embed_3x4');
  assert.ok(Math.max(...got.map((v, i) => Math.abs(v - ref[i]))) > 0.05, 'offset 0.1 without antialiasing should not match');
  wrong.dispose();
});

// Catches: inference ignoring the register tokens (every checkpoint on 0.1 / no antialiasing), the
// Hugging Face register key not reaching it, overrides ignored, and the named _reg configurations
// left on the no-register rule.
test('the interpolation is inferred from the checkpoint (register tokens → antialias, offset 0) and can be overridden', () => {
  const rule = (c: E.Dinov2Config) => [c.interpolateOffset, c.interpolateAntialias];
  const infer = (path: string, opts: E.Dinov2LoadOptions = {}) => rule(E.inferDinov2Config(E.readDinov2State(path), { numHeads: 1, ...opts }));
  assert.equal(infer(REG_HUB), [0, true], 'official _reg-style hub .pth');
  assert.equal(infer('test/golden/vit_tiny_hf.safetensors'), [0, true], 'Hugging Face safetensors with register tokens');
  assert.equal(infer('test/golden/vit_tiny_swiglu_hub.pth'), [0.1, false], 'hub .pth without registers');
  assert.equal(infer('test/golden/vit_tiny_swiglu_hf.safetensors'), [0.1, false], 'Hugging Face without registers');
  assert.equal(infer(REG_HUB, { interpolateAntialias: false }), [0, false], 'antialias overridden');
  assert.equal(infer(REG_HUB, { interpolateOffset: 0.1 }), [0.1, true], 'offset overridden');
  assert.equal(infer('test/golden/vit_tiny_swiglu_hub.pth', { interpolateOffset: 0, interpolateAntialias: true }), [0, true]);
  assert.throws(() => infer(REG_HUB, { interpolateOffset: -1 }), /interpolateOffset -1 is outside \[0, 1\)/);
  for (const [name, c] of Object.entries(E.DINOV2_CONFIGS)) {
    assert.equal(rule(c), name.endsWith('_reg') ? [0, true] : [0.1, false], name);
  }
});

// Catches: the antialiased resize leaving the autograd graph (e.g. done on the CPU from read-back data).
test('the antialiased resize is differentiable in the embedding', async () => {
  await gradCheck((p) => E.interpolatePatchPositions(p, 2, 3, 0, true), [{ shape: [16, 2] }], { what: 'antialiased pos-embed resize', rtol: 1e-2, atol: 1e-3 });
});

test.run();
