import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, randTensor, read } from './helpers.js';

const N = 1037; // not a multiple of the 256-wide workgroup

// ---------------------------------------------------------------------------------------------
// f64 re-implementations of torch.optim's update rules (torch/optim/sgd.py, adam.py, single-tensor path)

interface SgdRef { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

function sgdReference(p: Float64Array, grads: Float64Array[], o: SgdRef): Float64Array {
  const param = Float64Array.from(p);
  let buf: Float64Array | null = null;
  for (const grad of grads) {
    const d = grad.map((g, i) => g + o.weightDecay * param[i]);
    let dir: Float64Array = d;
    if (o.momentum !== 0) {
      const b: Float64Array = buf ? buf.map((v, i) => o.momentum * v + (1 - o.dampening) * d[i]) : Float64Array.from(d);
      buf = b;
      dir = o.nesterov ? d.map((v, i) => v + o.momentum * b[i]) : b;
    }
    for (let i = 0; i < param.length; i++) param[i] -= o.lr * dir[i];
  }
  return param;
}

interface AdamRef { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }

function adamReference(p: Float64Array, grads: Float64Array[], o: AdamRef): Float64Array {
  const param = Float64Array.from(p);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((grad, k) => {
    const step = k + 1;
    for (let i = 0; i < param.length; i++) {
      let g = grad[i];
      if (o.decoupled) param[i] *= 1 - o.lr * o.weightDecay;
      else g += o.weightDecay * param[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - o.beta2 ** step) + o.eps;
      param[i] -= (o.lr / (1 - o.beta1 ** step)) * (m[i] / denom);
    }
  });
  return param;
}

/** Run `steps` optimiser steps with seeded gradients; returns the start values, gradients and result. */
async function runSteps(make: (params: E.Tensor[]) => E.Optimizer, steps: number, shape = [N]) {
  const { t: param, v: start } = randTensor(shape, 11);
  param.requiresGrad = true;
  const opt = make([param]);
  const grads: Float64Array[] = [];
  for (let k = 0; k < steps; k++) {
    const g = randTensor(shape, 100 + k, -2, 2);
    grads.push(g.v);
    param.grad = g.t;
    opt.step();
    opt.zeroGrad();
  }
  const got = await read(param);
  opt.dispose();
  param.dispose();
  return { start, grads, got };
}

const sgdCases: [string, SgdRef][] = [
  ['plain with weight decay', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false }],
  ['momentum and dampening', { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-4, nesterov: false }],
  ['nesterov with weight decay', { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: true }],
];

for (const [name, o] of sgdCases) {
  test(`SGD ${name}: 4 steps on ${N} elements match PyTorch's rule in f64`, async () => {
    const { start, grads, got } = await runSteps((ps) => new E.SGD(ps, o), 4);
    // f32 accumulation over 4 steps of O(0.1) updates: abs 2e-6, rel 1e-5.
    assertClose(got, sgdReference(start, grads, o), 1e-5, 2e-6, `SGD ${name}`);
  });
}

const adamCases: [string, AdamRef][] = [
  ['Adam', { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false }],
  ['Adam with L2 weight decay and an eps large enough to matter', { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-2, weightDecay: 0.05, decoupled: false }],
  ['AdamW', { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true }],
];

for (const [name, o] of adamCases) {
  test(`${name}: 5 steps on ${N} elements match PyTorch's rule in f64`, async () => {
    const opts = { lr: o.lr, betas: [o.beta1, o.beta2] as [number, number], eps: o.eps, weightDecay: o.weightDecay, decoupled: o.decoupled };
    const { start, grads, got } = await runSteps((ps) => new E.Adam(ps, opts), 5);
    // Each Adam step moves by ≈ lr; f32 rounding of m/√v: abs 1e-6, rel 1e-5.
    assertClose(got, adamReference(start, grads, o), 1e-5, 1e-6, name);
  });
}

test('step() skips parameters without a gradient; zeroGrad() drops gradients', async () => {
  const a = randTensor([5, 3], 1);
  const b = randTensor([7], 2);
  a.t.requiresGrad = b.t.requiresGrad = true;
  const opt = new E.Adam([a.t, b.t], { lr: 0.1 });
  a.t.grad = E.tensor(new Float32Array(15).fill(1), [5, 3]);
  opt.step();
  assertClose(await read(b.t), b.v, 0, 0, 'untouched parameter');
  // First Adam step: m̂/√v̂ = sign(g), so every element moves by lr (up to eps).
  assertClose(await read(a.t), Array.from(a.v, (x) => x - 0.1), 1e-6, 1e-6, 'stepped parameter');
  opt.zeroGrad();
  assert.is(a.t.grad, null);
  opt.dispose();
  a.t.dispose();
  b.t.dispose();
});

test('optimiser stateDict round trip resumes training exactly (SGD momentum and Adam)', async () => {
  const makers = [(ps: E.Tensor[]) => new E.SGD(ps, { lr: 0.1, momentum: 0.9 }), (ps: E.Tensor[]) => new E.Adam(ps, { lr: 0.01 })];
  for (const make of makers) {
    const { t: p1 } = randTensor([3, 41], 5);
    p1.requiresGrad = true;
    const o1 = make([p1]);
    const grad = (k: number) => randTensor([3, 41], 50 + k).t;
    for (let k = 0; k < 2; k++) {
      p1.grad = grad(k);
      o1.step();
      o1.zeroGrad();
    }
    // Checkpoint, then resume in a fresh parameter and optimiser.
    const saved = await o1.stateDict();
    const p2 = E.tensor(await p1.data(), p1.shape);
    p2.requiresGrad = true;
    const o2 = make([p2]);
    o2.loadStateDict(saved);
    for (let k = 2; k < 4; k++) {
      p1.grad = grad(k);
      p2.grad = grad(k);
      o1.step();
      o2.step();
      o1.zeroGrad();
      o2.zeroGrad();
    }
    // Same kernels on the same values: bit-identical.
    assertClose(await read(p2), await read(p1), 0, 0, `${o1.kind} resumed`);
    // A state for another kind of optimiser, or another number of parameters, is refused.
    assert.throws(() => new E.SGD([p1, p2], { lr: 1 }).loadStateDict(saved), /SGD\.loadStateDict: the state (belongs to a Adam|has 1 parameters)/);
    o1.dispose();
    o2.dispose();
    p1.dispose();
    p2.dispose();
  }
});

test('emaUpdate matches α·target + (1 − α)·source in f64, on parameters and plain buffers', async () => {
  const target = randTensor([N], 3);
  const source = randTensor([N], 4);
  let want = target.v;
  for (const alpha of [0.99, 0.5, 0]) {
    E.emaUpdate(target.t, source.t, alpha);
    want = want.map((t, i) => alpha * t + (1 - alpha) * source.v[i]);
  }
  // Three f32 FMAs per element: rel 1e-6, abs 1e-7.
  assertClose(await read(target.t), want, 1e-6, 1e-7, 'ema');
  assert.throws(() => E.emaUpdate(target.t, target.t, 0.5), /emaUpdate: operands share storage/);
  assert.throws(() => E.emaUpdate(target.t, E.zeros([N + 1]), 0.5), /emaUpdate: operands must have the same shape.*\[1037\].*\[1038\]/);
  target.t.dispose();
  source.t.dispose();
});

// ---------------------------------------------------------------------------------------------
// Modules

class Linear extends E.Module implements E.Layer {
  readonly weight: E.Tensor;
  readonly bias: E.Tensor;
  constructor(inF: number, outF: number, rng: E.Generator) {
    super();
    this.weight = this.registerParameter('weight', () => E.nnInit.defaultWeight([outF, inF], rng));
    this.bias = this.registerParameter('bias', () => E.nnInit.defaultBias(outF, [outF, inF], rng));
  }
  forward(x: E.Tensor): E.Tensor {
    return E.linear(x, this.weight, this.bias);
  }
}

/** A stand-in for BatchNorm's state: a parameter and a running-statistics buffer. */
class Scale extends E.Module implements E.Layer {
  readonly gamma = this.registerParameter('weight', () => E.full([4], 1));
  readonly running = this.registerBuffer('running_mean', () => E.zeros([4]));
  forward(x: E.Tensor): E.Tensor {
    return E.mul(x, this.gamma);
  }
}

class Block extends E.Module {
  readonly conv_conv: E.Sequential;
  constructor(rng: E.Generator) {
    super();
    this.conv_conv = this.registerModule('conv_conv', new E.Sequential(new Linear(3, 4, rng), new Scale(), new E.Lambda('relu', E.relu), new Linear(4, 2, rng)));
  }
}

class Encoder extends E.Module {
  constructor(rng: E.Generator) {
    super();
    this.registerModule('in_conv', new Block(rng));
  }
}

class Net extends E.Module {
  readonly head: Linear;
  constructor(seed: number) {
    super();
    const rng = new E.Generator(seed);
    this.registerModule('encoder', new Encoder(rng));
    this.head = this.registerModule('head', new Linear(2, 1, rng));
    this.registerBuffer('step', () => E.zeros([1], 'i32'));
  }
}

const NAMES = [
  'step',
  'encoder.in_conv.conv_conv.0.weight',
  'encoder.in_conv.conv_conv.0.bias',
  'encoder.in_conv.conv_conv.1.weight',
  'encoder.in_conv.conv_conv.1.running_mean',
  'encoder.in_conv.conv_conv.3.weight',
  'encoder.in_conv.conv_conv.3.bias',
  'head.weight',
  'head.bias',
];

test('Module: dotted names in PyTorch order, train/eval propagation, state dict round trip', async () => {
  const a = new Net(1);
  const b = new Net(2);
  assert.equal([...a.stateDict().keys()], NAMES);
  assert.equal(a.namedParameters().map(([n]) => n), NAMES.filter((n) => !n.includes('running') && n !== 'step'));
  assert.equal(a.namedBuffers().map(([n]) => n), ['step', 'encoder.in_conv.conv_conv.1.running_mean']);
  assert.ok(a.parameters().every((p) => p.requiresGrad));
  a.eval();
  assert.ok(a.namedModules().every(([, m]) => !m.training));
  a.train();
  assert.ok(a.namedModules().every(([, m]) => m.training));

  const wA = await read(a.head.weight);
  assert.not.equal(await read(b.head.weight), wA, 'different seeds give different weights');
  const heldByOptimiser = b.head.weight;
  const result = b.loadStateDict(a.stateDict());
  assert.equal(result, { missingKeys: [], unexpectedKeys: [] });
  for (const [name, t] of b.stateDict()) assertClose(await read(t), await read(a.stateDict().get(name)!), 0, 0, name);
  assert.is(b.head.weight, heldByOptimiser, 'loaded in place');
  a.dispose();
  b.dispose();
});

test('Module.loadStateDict lists missing, unexpected and mis-shaped keys', () => {
  const net = new Net(3);
  const state = new Map(net.stateDict());
  state.delete('head.bias');
  state.delete('encoder.in_conv.conv_conv.0.bias');
  const extra = E.zeros([2]);
  const wrong = E.zeros([2, 1]);
  state.set('decoder.out.weight', extra);
  state.set('head.weight', wrong);
  assert.throws(
    () => net.loadStateDict(state),
    (e: Error) =>
      /missing keys: encoder\.in_conv\.conv_conv\.0\.bias, head\.bias/.test(e.message) &&
      /unexpected keys: decoder\.out\.weight/.test(e.message) &&
      /head\.weight: expected \[1, 2\] f32, got \[2, 1\] f32/.test(e.message),
  );
  // Non-strict: missing/unexpected are reported, a shape mismatch still throws.
  assert.throws(() => net.loadStateDict(state, { strict: false }), /mismatched shapes: head\.weight/);
  state.delete('head.weight');
  const r = net.loadStateDict(state, { strict: false });
  assert.equal(r.missingKeys, ['encoder.in_conv.conv_conv.0.bias', 'head.weight', 'head.bias']);
  assert.equal(r.unexpectedKeys, ['decoder.out.weight']);
  extra.dispose();
  wrong.dispose();
  net.dispose();
});

test('updateEmaModel averages parameters (and float buffers when asked) by name', async () => {
  const teacher = new Net(5);
  const student = new Net(6);
  const t0 = new Map<string, Float64Array>();
  for (const [n, t] of teacher.stateDict()) t0.set(n, await read(t));
  const s = student.stateDict();
  // The student's running mean (a plain buffer, as BatchNorm's) := 2, so that averaging it shows.
  const two = E.full([4], 2);
  E.emaUpdate(s.get('encoder.in_conv.conv_conv.1.running_mean')!, two, 0);
  two.dispose();
  E.updateEmaModel(teacher, student, 0.75);
  E.updateEmaModel(teacher, student, 0.75, { buffers: true });
  for (const [n, t] of teacher.stateDict()) {
    const isParam = teacher.namedParameters().some(([pn]) => pn === n);
    const sv = await read(s.get(n)!);
    const tv = t0.get(n)!;
    // Parameters averaged twice, the float buffer once, the i32 counter never: rel 1e-6.
    const want = n === 'step' ? tv : isParam ? tv.map((x, i) => 0.5625 * x + 0.4375 * sv[i]) : tv.map((x, i) => 0.75 * x + 0.25 * sv[i]);
    assertClose(await read(t), want, 1e-6, 1e-7, n);
  }
  assert.throws(() => E.updateEmaModel(teacher, new Linear(2, 1, new E.Generator(1)), 0.5), /updateEmaModel: the teacher has 7 tensors to average, the student 2/);
  teacher.dispose();
  student.dispose();
});

test('defaultWeight/defaultBias: U(±1/√fan_in), seeded, reproducible', async () => {
  const shape = [16, 6, 3, 3];
  const bound = 1 / Math.sqrt(6 * 9); // kaiming_uniform_(a=√5) reduces to 1/√fan_in
  const w1 = await read(E.nnInit.defaultWeight(shape, new E.Generator(7)));
  const w2 = await read(E.nnInit.defaultWeight(shape, new E.Generator(7)));
  assert.equal(w1, w2);
  assert.ok(w1.every((x) => Math.abs(x) <= bound));
  const mean = w1.reduce((s, x) => s + x, 0) / w1.length;
  const variance = w1.reduce((s, x) => s + (x - mean) ** 2, 0) / w1.length;
  // 864 samples of U(−b, b): mean within ~4σ (σ = b/√(3·864)), variance b²/3 within 15%.
  assert.ok(Math.abs(mean) < (4 * bound) / Math.sqrt(3 * w1.length), `mean ${mean}`);
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.15, `variance ${variance}`);
  const b = await read(E.nnInit.defaultBias(16, shape, new E.Generator(8)));
  assert.ok(b.every((x) => Math.abs(x) <= bound) && b.some((x) => x !== b[0]));
  assert.is(E.nnInit.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.equal(E.nnInit.fans([8, 3, 5, 5]), { fanIn: 75, fanOut: 200 });
});

test('50 training steps (MLP, Adam, mean teacher) keep the buffer pool flat', async () => {
  const student = new E.Sequential(new Linear(5, 9, new E.Generator(1)), new E.Lambda('tanh', E.tanh), new Linear(9, 3, new E.Generator(2)));
  const teacher = new E.Sequential(new Linear(5, 9, new E.Generator(3)), new E.Lambda('tanh', E.tanh), new Linear(9, 3, new E.Generator(4)));
  const opt = new E.Adam(student.parameters(), { lr: 0.02, weightDecay: 1e-4 });
  const x = E.tensor(Float32Array.from(randArray(7 * 5, 21)), [7, 5]);
  const target = E.tensor(Float32Array.from(randArray(7 * 3, 22, -0.5, 0.5)), [7, 3]);
  const losses: number[] = [];
  let after10: E.MemoryStats | null = null;
  for (let step = 1; step <= 50; step++) {
    const loss = E.tidy(() => {
      const l = E.mean(E.pow(E.sub(student.forward(x), target), 2));
      E.backward(l);
      opt.step();
      opt.zeroGrad();
      E.updateEmaModel(teacher, student, 0.99);
      return l;
    });
    losses.push(await loss.item()); // also submits the step's work, so released buffers are free again
    loss.dispose();
    if (step === 10) after10 = E.memoryStats();
  }
  const after50 = E.memoryStats();
  assert.is(after50.liveBuffers, after10!.liveBuffers, 'live buffers after step 10 vs step 50');
  assert.is(after50.createdBuffers, after10!.createdBuffers, 'created buffers after step 10 vs step 50');
  assert.ok(losses[49] < 0.5 * losses[0], `loss fell from ${losses[0]} to ${losses[49]}`);
  opt.dispose();
  student.dispose();
  teacher.dispose();
  x.dispose();
  target.dispose();
});

test.run();
