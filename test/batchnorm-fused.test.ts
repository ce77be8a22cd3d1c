// BatchNorm2d fused with a following LeakyReLU (kernels/norm.ts `leakySlope`, taken by Sequential
// through Layer.fuseNext): forward and backward against a float64 reference and against the unfused
// composition leakyRelu(batchNorm2d(x)), in training and eval mode; and the fusion is taken only for
// the pair BatchNorm2d → LeakyReLU inside a Sequential, where nothing else can see the BN output.
//
// Mistakes these catch (each made once by hand): the gate computed on x instead of the normalised
// value (backward wrong), the forward slope dropped or applied on the wrong side of zero, the eval
// backward ignoring the gate, fusing a BatchNorm with a layer that is not a LeakyReLU.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

const SHAPE = [3, 4, 9, 11];
const SLOPE = 0.2;
const EPS = 1e-5;

/** f64 BatchNorm (batch or given statistics) → LeakyReLU, and its gradients for an upstream g. */
function reference(x: Float64Array, w: Float64Array, b: Float64Array, g: Float64Array, training: boolean, runMean: Float64Array, runVar: Float64Array) {
  const [N, C, H, W] = SHAPE;
  const HW = H * W;
  const n = N * HW;
  const idx = (bi: number, c: number, k: number) => (bi * C + c) * HW + k;
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let mean = runMean[c];
    let variance = runVar[c];
    if (training) {
      mean = 0;
      variance = 0;
      for (let bi = 0; bi < N; bi++) for (let k = 0; k < HW; k++) mean += x[idx(bi, c, k)] / n;
      for (let bi = 0; bi < N; bi++) for (let k = 0; k < HW; k++) variance += (x[idx(bi, c, k)] - mean) ** 2 / n;
    }
    const invstd = 1 / Math.sqrt(variance + EPS);
    const gl = new Float64Array(n); // upstream gradient through the LeakyReLU
    const xhat = new Float64Array(n);
    let j = 0;
    for (let bi = 0; bi < N; bi++) {
      for (let k = 0; k < HW; k++, j++) {
        const i = idx(bi, c, k);
        xhat[j] = (x[i] - mean) * invstd;
        const t = xhat[j] * w[c] + b[c];
        y[i] = t > 0 ? t : SLOPE * t;
        gl[j] = g[i] * (t > 0 ? 1 : SLOPE);
        db[c] += gl[j];
        dw[c] += gl[j] * xhat[j];
      }
    }
    j = 0;
    for (let bi = 0; bi < N; bi++) {
      for (let k = 0; k < HW; k++, j++) {
        const i = idx(bi, c, k);
        dx[i] = training ? w[c] * invstd * (gl[j] - db[c] / n - (xhat[j] * dw[c]) / n) : gl[j] * w[c] * invstd;
      }
    }
  }
  return { y, dx, dw, db };
}

/** A BatchNorm2d with non-trivial affine parameters and running statistics, seeded. */
async function makeBn(seed: number) {
  const bn = new E.BatchNorm2d(SHAPE[1]);
  const C = SHAPE[1];
  const w = randTensor([C], seed, 0.5, 1.5);
  const b = randTensor([C], seed + 1, -0.5, 0.5);
  const rm = randTensor([C], seed + 2, -0.3, 0.3);
  const rv = randTensor([C], seed + 3, 0.5, 2);
  bn.loadStateDict({ weight: w.t, bias: b.t, running_mean: rm.t, running_var: rv.t, num_batches_tracked: E.zeros([], 'i32') });
  return { bn, w: w.v, b: b.v, rm: rm.v, rv: rv.v };
}

/** Forward through `f`, backward of Σ y·g; returns y, dx, dweight, dbias and the kernels dispatched. */
async function run(f: (x: E.Tensor) => E.Tensor, bn: E.BatchNorm2d, x: E.Tensor, g: E.Tensor) {
  const keys: string[] = [];
  const previous = E.observeDispatches((d) => keys.push(d.key));
  try {
    return await E.tidy(async () => {
      const y = f(x);
      E.backward(E.sum(E.mul(y, g)));
      const out = { y: await read(y), dx: await read(x.grad!), dw: await read(bn.weight.grad!), db: await read(bn.bias.grad!), keys };
      x.grad = null;
      bn.weight.grad = null;
      bn.bias.grad = null;
      return out;
    });
  } finally {
    E.observeDispatches(previous);
  }
}

for (const training of [true, false]) {
  const mode = training ? 'training' : 'eval';
  test(`BatchNorm2d → LeakyReLU fused (${mode}): forward and gradients match f64, and the unfused composition`, async () => {
    const { bn, w, b, rm, rv } = await makeBn(5);
    const { t: x, v: xv } = randTensor(SHAPE, 9, -2, 3);
    x.requiresGrad = true;
    const { t: g, v: gv } = randTensor(SHAPE, 10);
    const seq = new E.Sequential(bn, new E.LeakyReLU(SLOPE));
    seq.train(training);
    const want = reference(xv, w, b, gv, training, rm, rv);

    const fused = await run((t) => seq.forward(t), bn, x, g);
    assert.ok(fused.keys.some((k) => k.startsWith('norm:bnNormalize:leaky')), `the fused kernel ran: ${fused.keys.join(' ')}`);
    assert.not.ok(fused.keys.some((k) => k.includes('leaky') && !k.startsWith('norm:')), 'no separate LeakyReLU kernel');
    assertClose(fused.y, want.y, 1e-4, 1e-5, `${mode} y`);
    assertClose(fused.dx, want.dx, 1e-4, 1e-5, `${mode} dx`);
    assertClose(fused.dw, want.dw, 1e-4, 1e-4, `${mode} dweight`);
    assertClose(fused.db, want.db, 1e-4, 1e-4, `${mode} dbias`);
    const runningAfterFused = [await read(bn.runningMean), await read(bn.runningVar)];

    // The composition, on the same starting running statistics.
    bn.loadStateDict({ running_mean: E.tensor(Float32Array.from(rm), [SHAPE[1]]), running_var: E.tensor(Float32Array.from(rv), [SHAPE[1]]) }, { strict: false });
    const plain = await run((t) => E.leakyRelu(bn.forward(t), SLOPE), bn, x, g);
    assert.not.ok(plain.keys.some((k) => k.startsWith('norm:bnNormalize:leaky')), 'bn.forward alone does not fuse');
    // Same arithmetic on the same values: the forward is bit for bit; so are the gradients.
    assertClose(fused.y, plain.y, 0, 0, `${mode} y fused vs composition`);
    assertClose(fused.dx, plain.dx, 0, 0, `${mode} dx fused vs composition`);
    assertClose(fused.dw, plain.dw, 0, 0, `${mode} dweight fused vs composition`);
    assertClose(fused.db, plain.db, 0, 0, `${mode} dbias fused vs composition`);
    assertClose(await read(bn.runningMean), runningAfterFused[0], 0, 0, `${mode} running mean`);
    assertClose(await read(bn.runningVar), runningAfterFused[1], 0, 0, `${mode} running var`);
    seq.dispose();
  });
}

test('the fusion is taken only for BatchNorm2d directly followed by LeakyReLU in a Sequential', async () => {
  const { bn } = await makeBn(6);
  const x = randTensor(SHAPE, 3).t;
  const kernelsOf = (f: () => E.Tensor) => {
    const keys: string[] = [];
    const previous = E.observeDispatches((d) => keys.push(d.key));
    try {
      E.tidy(() => void f());
    } finally {
      E.observeDispatches(previous);
    }
    return keys;
  };
  const fusedRan = (keys: string[]) => keys.some((k) => k.startsWith('norm:bnNormalize:leaky'));
  const leaky = new E.LeakyReLU(SLOPE);
  assert.ok(fusedRan(kernelsOf(() => new E.Sequential(bn, leaky).forward(x))), 'BN → LeakyReLU fuses');
  // Another layer between them, a BN last, or a LeakyReLU before the BN: no fusion.
  assert.not.ok(fusedRan(kernelsOf(() => new E.Sequential(bn, new E.Lambda('identity', (t) => t), leaky).forward(x))), 'BN → Lambda → LeakyReLU');
  assert.not.ok(fusedRan(kernelsOf(() => new E.Sequential(leaky, bn).forward(x))), 'LeakyReLU → BN');
  // A Lambda that uses the BN output twice sees the plain BN output: nothing to fuse into.
  const twice = new E.Lambda('twice', (t) => E.add(t, E.leakyRelu(t, SLOPE)));
  assert.not.ok(fusedRan(kernelsOf(() => new E.Sequential(bn, twice).forward(x))), 'BN → Lambda(uses its input twice)');
  bn.dispose();
});

test.run();
