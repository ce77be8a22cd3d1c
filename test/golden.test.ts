// The engine's layer ops against PyTorch 1.13 (test/golden/*.json, written by test/golden/generate.py):
// forward values and gradients w.r.t. inputs and parameters for a fixed upstream gradient `gy`.
// The references are computed in float64 from float32 inputs, so every difference is the engine's
// own float32 rounding.
import { readFileSync } from 'node:fs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { assertClose, read } from './helpers.js';

interface Fixture {
  shape: number[];
  data: number[];
}

interface GoldenCase {
  name: string;
  /** The op's arguments as PyTorch spells them. */
  args: Record<string, unknown>;
  tensors: Record<string, Fixture>;
}

/** [rtol, atol] for assertClose. */
type Tolerance = [number, number];

interface Check {
  /** Builds the output from the case's tensors (those named in `grads` require grad). */
  forward: (t: Record<string, Tensor>) => Tensor;
  forwardTol: Tolerance;
  /** Input tensor name → name of its reference gradient. */
  grads: Record<string, string>;
  gradTol: Tolerance;
  /** Further comparisons after the forward pass (e.g. running statistics updated in place). */
  after?: (t: Record<string, Tensor>) => Promise<void>;
}

function goldenCases(family: string): GoldenCase[] {
  // Tests run with the repository root as working directory.
  return JSON.parse(readFileSync(`test/golden/${family}.json`, 'utf8')).cases;
}

async function compareWithTorch(c: GoldenCase, check: Check): Promise<void> {
  const t: Record<string, Tensor> = {};
  for (const [name, f] of Object.entries(c.tensors)) t[name] = E.tensor(Float32Array.from(f.data), f.shape);
  for (const name of Object.keys(check.grads)) t[name].requiresGrad = true;
  const made: Tensor[] = Object.values(t);
  try {
    const y = check.forward(t);
    made.push(y);
    assert.equal([...y.shape], c.tensors.y.shape, `${c.name}: output shape`);
    assertClose(await read(y), c.tensors.y.data, ...check.forwardTol, `${c.name}: output`);
    if (check.after) await check.after(t);
    // The upstream gradient takes the output's shape (a scalar loss may be [] or [1]).
    const gy = E.tensor(Float32Array.from(c.tensors.gy.data), y.shape);
    made.push(gy);
    E.backward(y, { grad: gy });
    for (const [input, ref] of Object.entries(check.grads)) {
      const g = t[input].grad;
      assert.ok(g, `${c.name}: ${input} received no gradient`);
      made.push(g);
      assertClose(await read(g), c.tensors[ref].data, ...check.gradTol, `${c.name}: d/d${input}`);
    }
  } finally {
    for (const x of made) x.dispose();
  }
}

/** One test per golden case of `family`. */
function goldenTests(family: string, checkFor: (c: GoldenCase) => Check): void {
  for (const c of goldenCases(family)) test(`${family} vs PyTorch: ${c.name}`, () => compareWithTorch(c, checkFor(c)));
}

const num = (c: GoldenCase, key: string) => c.args[key] as number;

goldenTests('conv2d', (c) => ({
  forward: (t) =>
    E.conv2d(t.x, t.w, t.b, { stride: num(c, 'stride'), padding: num(c, 'padding'), dilation: num(c, 'dilation'), groups: num(c, 'groups') }),
  // f32 sums of ≤ 27 products of O(1) values (measured error < 0.02 of this tolerance).
  forwardTol: [1e-4, 1e-5],
  grads: { x: 'gx', w: 'gw', b: 'gb' },
  // The weight gradient sums up to 2·9·7 = 126 terms of O(1) (measured < 0.04 of this).
  gradTol: [1e-4, 1e-5],
}));

goldenTests('conv_transpose2d', (c) => ({
  forward: (t) =>
    E.convTranspose2d(t.x, t.w, t.b, {
      stride: num(c, 'stride'),
      padding: num(c, 'padding'),
      outputPadding: num(c, 'output_padding'),
      dilation: num(c, 'dilation'),
      groups: num(c, 'groups'),
    }),
  // Each output sums ≤ 2·9 products (measured error < 0.02 of this tolerance).
  forwardTol: [1e-4, 1e-5],
  grads: { x: 'gx', w: 'gw', b: 'gb' },
  // The bias gradient sums up to 2·12·14 = 336 upstream values of O(1) (measured < 0.02 of this).
  gradTol: [1e-4, 1e-5],
}));

goldenTests('batch_norm2d', (c) => ({
  forward: (t) =>
    E.batchNorm2d(t.x, t.w, t.b, t.running_mean, t.running_var, {
      training: c.args.training as boolean,
      momentum: num(c, 'momentum'),
      eps: num(c, 'eps'),
    }),
  // Normalised by σ ≈ 1.4 after f32 rounding of a mean and a variance over 70 values (measured
  // error < 0.02 of this tolerance).
  forwardTol: [1e-4, 1e-5],
  after: async (t) => {
    // Training updates the running statistics in place (unbiased variance, momentum 0.1); eval
    // leaves them. Means of 70 values: rel 1e-5.
    assertClose(await read(t.running_mean), c.tensors.running_mean_after.data, 1e-5, 1e-6, `${c.name}: running mean`);
    assertClose(await read(t.running_var), c.tensors.running_var_after.data, 1e-5, 1e-6, `${c.name}: running variance`);
  },
  grads: { x: 'gx', w: 'gw', b: 'gb' },
  // The input gradient subtracts two means of 70 terms from the upstream gradient (cancellation);
  // the weight gradient sums 70 products (measured < 0.1 of this tolerance).
  gradTol: [1e-4, 1e-5],
}));

goldenTests('layer_norm', (c) => ({
  forward: (t) => E.layerNorm(t.x, t.w, t.b, num(c, 'eps')),
  // As in batch norm, over rows of ≤ 33 values (measured error < 0.02 of these tolerances).
  forwardTol: [1e-4, 1e-5],
  grads: { x: 'gx', w: 'gw', b: 'gb' },
  gradTol: [1e-4, 1e-5],
}));

goldenTests('interpolate', (c) => {
  const size = c.args.size as [number, number];
  return {
    forward: (t) => (c.args.mode === 'bilinear' ? E.resizeBilinear(t.x, size, c.args.align_corners as boolean) : E.resizeNearest(t.x, size)),
    // Bilinear weights are products of f32 fractions (align_corners=False: (i + 0.5)·in/out − 0.5);
    // measured error < 0.03 of this tolerance.
    forwardTol: [1e-4, 1e-5],
    grads: { x: 'gx' },
    // Up-sampling 5×7 → 11×16 gathers up to 16 weighted upstream values per input pixel.
    gradTol: [1e-4, 1e-5],
  };
});

goldenTests('pool2d', (c) => {
  const [k, s, p] = [num(c, 'kernel_size'), num(c, 'stride'), num(c, 'padding')];
  return {
    forward: (t) => (c.args.op === 'max' ? E.maxPool2d(t.x, k, s, p) : E.avgPool2d(t.x, k, s, p, c.args.count_include_pad as boolean)),
    // Max is exact; an average of ≤ 9 values rounds by a few ulps.
    forwardTol: [1e-5, 1e-6],
    grads: { x: 'gx' },
    // Each input pixel sums ≤ 4 window contributions.
    gradTol: [1e-5, 1e-6],
  };
});

goldenTests('soft_cross_entropy', (c) => ({
  forward: (t) => E.softCrossEntropy(t.logits, t.target, num(c, 'dim')),
  // A mean of 70 per-pixel losses of O(1): f32 summation.
  forwardTol: [1e-5, 1e-6],
  grads: { logits: 'gx' },
  // (softmax − target)·gy / 70 per element: O(1e-2) values.
  gradTol: [1e-4, 1e-6],
}));

goldenTests('softmax', (c) => ({
  forward: (t) => (c.args.op === 'log_softmax' ? E.logSoftmax(t.x, num(c, 'dim')) : E.softmax(t.x, num(c, 'dim'))),
  // exp and log in f32 over inputs in [−4, 4].
  forwardTol: [1e-5, 1e-6],
  grads: { x: 'gx' },
  gradTol: [1e-4, 1e-5],
}));

goldenTests('gelu', () => ({
  forward: (t) => E.gelu(t.x),
  // erf in f32 over [−5, 5].
  forwardTol: [1e-5, 2e-6],
  grads: { x: 'gx' },
  gradTol: [1e-5, 2e-6],
}));

test.run();
