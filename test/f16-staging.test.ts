// Half-precision staging of the GPU GEMM tiles (SRASEG_F16=1, kernels/variant.ts): GEMMs outside a
// backward pass round their operands to f16 once and accumulate in f32; backward GEMMs stay f32. The numeric tests
// need an adapter with shader-f16 (a GPU, or Dawn→Vulkan on lavapipe: docs/BENCHMARKS.md); on
// Dawn→OpenGL they are skipped with a message, and the tests of the switch itself run everywhere.
//
// The operands are f16-exact values nudged by a relative 2⁻¹³ (less than half an f16 step, exact in
// f32), so that any rounding to f16 lands on the unnudged value: the f16 result must equal the
// float64 product of the unnudged operands to f32 accumulation, and the nudge moves the f32 product
// far past that tolerance. Mistakes each catches, made by hand once each:
// - the switch not reaching the kernel (f16Staging() ignored, or the f32 kernel served from the
//   pipeline cache because the staging is missing from the cache key — each case runs f32 first);
// - backward GEMMs staged in f16 (f16Staging() not consulting inBackward()): dx and dw are checked
//   against the float64 gradient of the operands as stored, with a dy that f16 would round;
// - SRASEG_F16=1 accepted where it cannot take effect, or a bad value parsed: the switch tests.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, randTensor, read, rng } from './helpers.js';
import { fullGeo, outSize, refConv, refMatmul, type Shape4 } from './references.js';

const K = E.kernelApi;
const hasF16 = E.runtime().ctx.features.f16;

test('SRASEG_F16 parsing: 1 on, 0 or unset off, anything else a one-line error naming the variable', () => {
  assert.is(K.f16StagingFromEnv({}), false);
  assert.is(K.f16StagingFromEnv({ SRASEG_F16: '' }), false);
  assert.is(K.f16StagingFromEnv({ SRASEG_F16: '0' }), false);
  assert.is(K.f16StagingFromEnv({ SRASEG_F16: '1' }), true);
  for (const bad of ['yes', 'true', '2']) {
    assert.throws(() => K.f16StagingFromEnv({ SRASEG_F16: bad }), (e: Error) => e instanceof E.InputError && /SRASEG_F16='[^']+' is not understood/.test(e.message));
  }
});

test('SRASEG_F16=1 where it cannot take effect is an error, not a silent f32 run', () => {
  K.setF16Staging(true);
  try {
    if (!hasF16) {
      K.setGpuKernels(true);
      assert.throws(() => K.f16Staging(), (e: Error) => e instanceof E.InputError && /needs the WebGPU feature shader-f16/.test(e.message));
    } else {
      K.setGpuKernels(false);
      assert.throws(() => K.f16Staging(), (e: Error) => e instanceof E.InputError && /also set SRASEG_GPU_KERNELS=1/.test(e.message));
      K.setGpuKernels(true);
      assert.is(K.f16Staging(), true);
      // A backward pass keeps f32, whatever the switch says.
      const x = randTensor([2, 3], 1);
      x.t.requiresGrad = true;
      let during: boolean | null = null;
      const probe = E.record(E.mul(x.t, x.t), 'probe', [x.t], [], (g) => {
        during = K.f16Staging();
        return [g.share()];
      });
      E.backward(E.sum(probe));
      assert.is(during, false, 'f16Staging() inside backward');
    }
  } finally {
    K.setF16Staging(null);
    K.setGpuKernels(null);
  }
});

/** n values of [−1, 1] exact in f16 (multiples of 2⁻¹⁰), and the same nudged by a relative 2⁻¹³. */
function nudged(n: number, seed: number): { exact: Float64Array; stored: Float64Array } {
  const r = rng(seed);
  const exact = new Float64Array(n);
  for (let i = 0; i < n; i++) exact[i] = Math.round((r() * 2 - 1) * 1024) / 1024;
  return { exact, stored: exact.map((v) => v + v * 2 ** -13) };
}

const tensorOf = (shape: number[], v: Float64Array) => E.tensor(Float32Array.from(v), shape);

/** Runs `body` twice on the GPU kernels, f32 staging then f16, and returns both results. */
async function bothStagings<T>(body: () => Promise<T>): Promise<[T, T]> {
  K.setGpuKernels(true);
  try {
    K.setF16Staging(false);
    const f32 = await body();
    K.setF16Staging(true);
    const f16 = await body();
    return [f32, f16];
  } finally {
    K.setF16Staging(null);
    K.setGpuKernels(null);
  }
}

const f16Test = (name: string, body: () => Promise<void>) => (hasF16 ? test(`f16 staging: ${name}`, body) : test.skip(`f16 staging: ${name}`));
if (!hasF16) {
  console.log(
    `f16-staging: the numeric tests are skipped: this adapter (${E.runtime().ctx.backend}) has no shader-f16; ` +
      `run them on a GPU or on lavapipe: bash scripts/lavapipe-local.sh && source .lavapipe/env.sh && node test/run.mjs f16-staging`,
  );
}

const matmulCases: [number[], number[], boolean, boolean][] = [
  [[37, 45], [45, 70], false, false],
  [[2, 19, 33], [2, 21, 33], false, true], // linear's layout, batched
  [[45, 20], [45, 9], true, false],
];

for (const [aShape, bShape, transA, transB] of matmulCases) {
  f16Test(`matmul ${E.fmtShape(aShape)}${transA ? 'ᵀ' : ''} · ${E.fmtShape(bShape)}${transB ? 'ᵀ' : ''}: operands rounded once, f32 sums; its gradients f32`, async () => {
    const a = nudged(aShape.reduce((p, x) => p * x, 1), 3);
    const b = nudged(bShape.reduce((p, x) => p * x, 1), 4);
    const exact = refMatmul(a.exact, aShape, b.exact, bShape, transA, transB);
    const stored = refMatmul(a.stored, aShape, b.stored, bShape, transA, transB);
    const g = randArray(stored.y.length, 5);
    const [f32, f16] = await bothStagings(async () => {
      const at = tensorOf(aShape, a.stored);
      const bt = tensorOf(bShape, b.stored);
      at.requiresGrad = bt.requiresGrad = true;
      const y = E.matmul(at, bt, { transA, transB });
      E.backward(y, { grad: tensorOf(stored.shape, g) });
      return { y: await read(y), da: await read(at.grad!), db: await read(bt.grad!) };
    });
    const gap = Math.max(...exact.y.map((v, i) => Math.abs(v - stored.y[i])));
    assert.ok(gap > 1e-4, `the nudge moves the product by ${gap}, well past the tolerance`);
    assertClose(f32.y, stored.y, 1e-5, 2e-5, 'f32 staging: the stored operands');
    assertClose(f16.y, exact.y, 1e-5, 2e-5, 'f16 staging: the operands rounded to f16');
    // The gradients ran in a backward pass: f32, identical to the f32-staged run's.
    assertClose(f16.da, f32.da, 0, 0, 'da');
    assertClose(f16.db, f32.db, 0, 0, 'db');
  });
}

f16Test('conv2d stride 2, 5 → 70 channels, batch 2: forward rounded once; dx and dw f32 against float64', async () => {
  const xs: Shape4 = [2, 5, 13, 11];
  const ws: Shape4 = [70, 5, 3, 3];
  const geo = fullGeo({ stride: [2, 2], padding: [1, 1] });
  const ys: Shape4 = [2, 70, outSize(13, 3, geo, 0), outSize(11, 3, geo, 1)];
  const x = nudged(xs.reduce((p, v) => p * v, 1), 6);
  const w = nudged(ws.reduce((p, v) => p * v, 1), 7);
  const dy = randTensor(ys, 8);
  const zeros = new Float64Array(70);
  const exact = refConv(xs, ws, ys, geo, { x: x.exact, w: w.exact, b: zeros, dy: dy.v }, false);
  const stored = refConv(xs, ws, ys, geo, { x: x.stored, w: w.stored, b: zeros, dy: dy.v }, false);
  const [f32, f16] = await bothStagings(async () => {
    const xt = tensorOf(xs, x.stored);
    const wt = tensorOf(ws, w.stored);
    xt.requiresGrad = wt.requiresGrad = true;
    const y = E.conv2d(xt, wt, null, { stride: 2, padding: 1 });
    E.backward(y, { grad: dy.t });
    return { y: await read(y), dx: await read(xt.grad!), dw: await read(wt.grad!) };
  });
  assertClose(f32.y, stored.y, 1e-5, 3e-5, 'f32 staging');
  assertClose(f16.y, exact.y, 1e-5, 3e-5, 'f16 staging');
  assertClose(f16.dx, stored.dx, 1e-5, 3e-5, 'dx (f32: dy is not f16-exact)');
  assertClose(f16.dw, stored.dw, 1e-5, 2e-4, 'dw (f32)');
});

test.run();
