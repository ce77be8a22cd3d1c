// The GPU-shaped kernels (kernels/variant.ts: workgroup-memory tiles for conv2d, matmul, attention),
// forced on whatever adapter runs the tests, against float64 references (test/references.ts) at
// shapes chosen for the GPU tiles' edges: outputs not a multiple of the 64 × 64 (16 × 256, 32 × 128,
// …) tile, k not a multiple of BK, rows of odd length (scalar loaders), strides, dilation, groups,
// transposed convolutions, the split-K weight gradient over a batch, attention heads wider than one
// 64-row workgroup and key counts past a tile. Mistakes each catches, made by hand once each:
// - a missing workgroupBarrier after staging (shaders/tiled-gemm.wgsl): every conv and matmul case;
// - the k edge mask dropped (maskK returns v): the matmul cases (conv's im2col loaders return zeros
//   past K themselves, and its split-K chunks end on a multiple of BK);
// - the row edge guard dropped in matmul's epilogue (rows past M stored over the next batch entry):
//   the matmul cases;
// - the split-K chunk offset (kBegin = 0 in shaders/conv2d-gemm.wgsl weightGrad): the batch-3 case;
// - attention's last-tile bound (all BKV keys used): the attention case (Nk = 37, 50, 65);
// - a bad SRASEG_GPU_KERNELS value accepted: the two parsing tests.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { runBench } from './fixtures.js';
import { assertClose, randArray, randTensor, read } from './helpers.js';
import { broadcastBatch, fullGeo, refConv, outSize, refAttention, refMatmul, type Geo, type Shape4 } from './references.js';
import { checkConvTranspose2d } from './conv-transpose-check.js';

const K = E.kernelApi;

/** A test body run with the GPU kernels forced on, whatever the adapter and the environment. */
function gpuTest(name: string, body: () => Promise<void>): void {
  test(`GPU kernels: ${name}`, async () => {
    K.setGpuKernels(true);
    try {
      assert.ok(K.gpuKernels(), 'the switch forces the GPU kernels');
      await body();
    } finally {
      K.setGpuKernels(null);
    }
  });
}

interface ConvCase {
  name: string;
  x: Shape4;
  w: Shape4;
  geo: Partial<Geo>;
  bias?: boolean;
  /** Absolute tolerance of dw (sums over N·Ho·Wo products). */
  dwTol?: number;
}

const convCases: ConvCase[] = [
  // 126 pixels (64-row tiles: 2, the second short), 70 channels (64 + 6), K = 5·9 = 45 (BK 16: 2 steps
  // and a masked tail); the input gradient at stride 2 runs in transposed coordinates.
  { name: 'stride 2, pad 1, 5 → 70 channels, 13×11, batch 3, bias', x: [3, 5, 13, 11], w: [70, 5, 3, 3], geo: { stride: [2, 2], padding: [1, 1] }, bias: true },
  { name: 'dilation 2, pad 2, groups 3 (4 → 6 channels each)', x: [2, 12, 10, 9], w: [18, 4, 3, 3], geo: { padding: [2, 2], dilation: [2, 2], groups: 3 }, bias: true },
  { name: '2×3 kernel, stride [2, 1], dilation [1, 2], groups 2', x: [2, 8, 9, 10], w: [8, 4, 2, 3], geo: { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 } },
  // 20 output channels: the 128 × 32 tile; K = 33 input channels of a 1×1 kernel.
  { name: '1×1 kernel, 33 → 20 channels, 7×9', x: [1, 33, 7, 9], w: [20, 33, 1, 1], geo: {}, bias: true },
  // 3 output channels per group: below GEMM_MIN_CHANNELS, the direct kernels run (the fallback), while
  // the input gradient (8 channels) and the weight gradient run the GEMM ones.
  { name: 'stride 2, 8 → 3 channels (the direct fallback forward)', x: [2, 8, 9, 7], w: [3, 8, 3, 3], geo: { stride: [2, 2], padding: [1, 1] } },
  // Split-K weight gradient: 3·20·21 = 1260 pixels in 4 chunks of 320 (the last 300), Cout 16 (the
  // 16 × 256 tile, BK 8), N = 8·9 = 72.
  { name: 'batch 3, 8 → 16 channels, 20×21 (split-K weight gradient)', x: [3, 8, 20, 21], w: [16, 8, 3, 3], geo: { padding: [1, 1] }, bias: true, dwTol: 3e-4 },
];

for (const c of convCases) {
  gpuTest(`conv2d ${c.name}: forward, input, weight and bias gradients vs float64`, async () => {
    const geo = fullGeo(c.geo);
    const ys: Shape4 = [c.x[0], c.w[0], outSize(c.x[2], c.w[2], geo, 0), outSize(c.x[3], c.w[3], geo, 1)];
    const x = randTensor(c.x, 21);
    const w = randTensor(c.w, 22);
    const b = randTensor([c.w[0]], 23);
    const dy = randTensor(ys, 24);
    x.t.requiresGrad = w.t.requiresGrad = b.t.requiresGrad = true;
    const y = E.conv2d(x.t, w.t, c.bias ? b.t : null, { ...geo });
    assert.equal([...y.shape], ys);
    const want = refConv(c.x, c.w, ys, geo, { x: x.v, w: w.v, b: b.v, dy: dy.v }, !!c.bias);
    // f32 sums of ≤ 297 products of O(1) terms.
    assertClose(await read(y), want.y, 1e-5, 3e-5, 'y');
    E.backward(y, { grad: dy.t });
    assertClose(await read(x.t.grad!), want.dx, 1e-5, 3e-5, 'dx');
    assertClose(await read(w.t.grad!), want.dw, 1e-5, c.dwTol ?? 1e-4, 'dw');
    if (c.bias) assertClose(await read(b.t.grad!), want.db, 1e-5, 3e-4, 'dbias');
  });
}

gpuTest('convTranspose2d stride 2, outputPadding 1, groups 2, 6 → 10 channels: forward and gradients vs float64', async () => {
  // x [2, 6, 5, 4], w [6, 5, 3, 3]: y [2, 10, 10, 8] = (5−1)·2 − 2 + 3 + 1 rows.
  await checkConvTranspose2d([2, 6, 5, 4], [6, 5, 3, 3], [2, 10, 10, 8], 2, 31, { y: 2e-5, dx: 2e-5, dw: 2e-4, db: 2e-4 });
});

/** op(a)·op(b) and its gradients (which run the other layouts) vs float64, with batch broadcasting. */
async function checkMatmul(aShape: number[], bShape: number[], transA: boolean, transB: boolean, seed: number): Promise<void> {
  const what = `matmul ${E.fmtShape(aShape)}${transA ? 'ᵀ' : ''} · ${E.fmtShape(bShape)}${transB ? 'ᵀ' : ''}`;
  const a = randTensor(aShape, seed);
  const b = randTensor(bShape, seed + 1);
  a.t.requiresGrad = b.t.requiresGrad = true;
  const y = E.matmul(a.t, b.t, { transA, transB });
  const want = refMatmul(a.v, aShape, b.v, bShape, transA, transB);
  assert.equal([...y.shape], want.shape, what);
  assertClose(await read(y), want.y, 1e-5, 3e-5, what);
  // For the loss Σ y·g: da and db, element by element, summed over the dims each operand broadcasts along.
  const g = randTensor(want.shape, seed + 2);
  E.backward(y, { grad: g.t });
  const [M, N] = want.shape.slice(-2);
  const Kd = transA ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
  const { ia, ib } = broadcastBatch(aShape.slice(0, -2), bShape.slice(0, -2));
  const da = new Float64Array(a.v.length);
  const db = new Float64Array(b.v.length);
  for (let z = 0; z < ia.length; z++) {
    const ao = ia[z] * M * Kd;
    const bo = ib[z] * Kd * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const gv = g.v[(z * M + m) * N + n];
        for (let k = 0; k < Kd; k++) {
          const ai = ao + (transA ? k * M + m : m * Kd + k);
          const bi = bo + (transB ? n * Kd + k : k * N + n);
          da[ai] += gv * b.v[bi];
          db[bi] += gv * a.v[ai];
        }
      }
  }
  assertClose(await read(a.t.grad!), da, 1e-5, 1e-4, `${what} da`);
  assertClose(await read(b.t.grad!), db, 1e-5, 1e-4, `${what} db`);
}

gpuTest('matmul in all four layouts, odd sizes (scalar loaders), batch broadcast, and gradients', async () => {
  // M 70 (64 + 6), K 37 (BK 16: 2 steps + a masked tail), N 67: scalar loaders on every side.
  let seed = 40;
  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    const a = transA ? [2, 1, 37, 70] : [2, 1, 70, 37];
    const b = transB ? [3, 67, 37] : [3, 37, 67];
    await checkMatmul(a, b, transA, transB, (seed += 3));
  }
});

gpuTest('matmul in all four layouts, sizes a multiple of 4 (vec4 loaders), and the narrow tiles', async () => {
  let seed = 60;
  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    // M 68, K 36, N 72; then M 12 (the 16 × 256 tile) and N 300; then M 132, N 8 (the 256 × 16 tile).
    for (const [M, Kd, N] of [[68, 36, 72], [12, 20, 300], [132, 44, 8]]) {
      const a = transA ? [Kd, M] : [M, Kd];
      const b = transB ? [2, N, Kd] : [2, Kd, N];
      await checkMatmul(a, b, transA, transB, (seed += 3));
    }
  }
});

gpuTest('linear with bias (the NT layout, bias in the epilogue), 3 × 5 rows, 29 → 67 features', async () => {
  const x = randTensor([3, 5, 29], 80);
  const w = randTensor([67, 29], 81);
  const b = randTensor([67], 82);
  const y = E.linear(x.t, w.t, b.t);
  const want = refMatmul(x.v, [15, 29], w.v, [67, 29], false, true).y.map((v, i) => v + b.v[i % 67]);
  assert.equal([...y.shape], [3, 5, 67]);
  assertClose(await read(y), want, 1e-5, 3e-5, 'linear');
});

gpuTest('attention: Dh 6 (not a multiple of 4), Dh 72 (a 16-row tile), Nk past a tile, Nq past a workgroup', async () => {
  // [lead, Nq, Nk, Dh]: Nq 70 = 64 + 6 query rows (two workgroups, the second mostly idle rows), Nk
  // 37 and 50 (a short last tile), Nq 1 (one real row in a workgroup).
  const cases: [number[], number, number, number, number][] = [[[2], 70, 37, 6, 90], [[1, 2], 33, 50, 72, 95], [[3], 1, 65, 4, 99]];
  for (const [lead, nq, nk, dh, seed] of cases) {
    const name = `attention [${lead}] Nq ${nq} Nk ${nk} Dh ${dh}`;
    const B = lead.reduce((p: number, n: number) => p * n, 1);
    const q = randTensor([...lead, nq, dh], seed, -2, 2);
    const k = randTensor([...lead, nk, dh], seed + 1, -2, 2);
    const v = randTensor([...lead, nk, dh], seed + 2);
    const gv = Float64Array.from(Float32Array.from(randArray(B * nq * dh, seed + 3)));
    for (const t of [q.t, k.t, v.t]) t.requiresGrad = true;
    const y = E.attention(q.t, k.t, v.t);
    const g = E.tensor(Float32Array.from(gv), y.shape);
    E.backward(y, { grad: g });
    const ref = refAttention(q.v, k.v, v.v, gv, B, nq, nk, dh, 1 / Math.sqrt(dh));
    assertClose(await read(y), ref.o, 1e-4, 2e-5, `${name} output`);
    assertClose(await read(q.t.grad!), ref.dq, 1e-3, 1e-4, `${name} dq`);
    assertClose(await read(k.t.grad!), ref.dk, 1e-3, 1e-4, `${name} dk`);
    assertClose(await read(v.t.grad!), ref.dv, 1e-3, 1e-4, `${name} dv`);
  }
});

test('SRASEG_GPU_KERNELS: 1 forces, 0 refuses, unset leaves it to the adapter, anything else is one clear error', () => {
  assert.is(K.gpuKernelsFromEnv({}), null);
  assert.is(K.gpuKernelsFromEnv({ SRASEG_GPU_KERNELS: '' }), null);
  assert.is(K.gpuKernelsFromEnv({ SRASEG_GPU_KERNELS: '1' }), true);
  assert.is(K.gpuKernelsFromEnv({ SRASEG_GPU_KERNELS: '0' }), false);
  for (const bad of ['yes', 'true', ' 1', '2']) {
    let error: unknown = null;
    try {
      K.gpuKernelsFromEnv({ SRASEG_GPU_KERNELS: bad });
    } catch (e) {
      error = e;
    }
    assert.instance(error, E.InputError, `'${bad}' must be refused as an input error (one line, exit code 2 from a command)`);
    assert.match((error as Error).message, /^SRASEG_GPU_KERNELS='.*' is not understood: set it to 1 .*, 0 .*, or leave it unset/);
    assert.not.match((error as Error).message, /\n/);
  }
  // setGpuKernels overrides the environment, and null hands the choice back.
  K.setGpuKernels(false);
  assert.is(K.gpuKernels(), false);
  K.setGpuKernels(true);
  assert.is(K.gpuKernels(), true);
  K.setGpuKernels(null);
  assert.is(K.gpuKernels(), K.gpuKernelsFromEnv() ?? !E.runtime().ctx.isCpu);
});

test('a command refuses a bad SRASEG_GPU_KERNELS with exit code 2 and one line, before it starts', () => {
  // Without the runner's check the command would go on to its own error (no such checkpoint).
  const r = runBench('generate', ['--checkpoint', 'no-such-checkpoint.pkl', '--count', '1', '--out', 'never-written'], { SRASEG_GPU_KERNELS: 'yes', SRASEG_DEBUG: '' });
  assert.is(r.code, 2, r.stderr);
  assert.equal(r.lines.filter((l) => !l.startsWith('[webgpu]')), ["generate: SRASEG_GPU_KERNELS='yes' is not understood: set it to 1 (GPU-shaped kernels on any adapter), 0 (software-shaped kernels), or leave it unset (the adapter decides)"]);
});

test.run();
