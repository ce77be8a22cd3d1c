// The fused optimisers (parameters, gradients and state in arenas, one dispatch per run of
// parameters: src/engine/nn/optim.ts, src/engine/nn/arena.ts) against a per-parameter float64
// re-implementation of torch.optim's rules, over several parameters of awkward sizes where some have
// no gradient on some steps (so their step counts lag and Adam's runs must split by step count).
//
// Mistakes these catch (each made once by hand): a run spanning a parameter without a gradient
// (it would move); Adam's runs keyed without the step count (a lagging parameter would get the
// wrong bias correction); slots sliced at the wrong offset (stateDict / the parameters read back);
// a kernel binding a parameter's whole arena instead of its slot (the module's forward changes).
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, quiet, randTensor, read } from './helpers.js';
import { tempDir } from './fixtures.js';
import { tinyPhantom, tinySemi, tinySupervised } from './tiny-runs.js';

// Sizes off the 64-element slot alignment, one exactly on it, a scalar-like one.
const SHAPES = [[1037], [3, 5], [64], [1], [2, 65]];
const STEPS = 4;
/** Parameter k has no gradient at step s when this says so: 1 skips step 0 (lags), 3 never steps. */
const hasGrad = (k: number, s: number) => !(k === 3 || (k === 1 && s === 0) || (k === 4 && s === 2));

interface Hyper {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  betas?: [number, number];
  eps?: number;
  decoupled?: boolean;
}

/** One parameter's f64 trajectory under torch.optim's SGD (single-tensor path). */
function sgdRef(p0: Float64Array, grads: (Float64Array | null)[], o: Hyper): Float64Array {
  const p = Float64Array.from(p0);
  const mom = o.momentum ?? 0;
  const wd = o.weightDecay ?? 0;
  let buf: Float64Array | null = null;
  for (const g of grads) {
    if (!g) continue;
    const d = g.map((v, i) => v + wd * p[i]);
    let dir: Float64Array = d;
    if (mom !== 0) {
      const b: Float64Array = buf ? buf.map((v, i) => mom * v + (1 - (o.dampening ?? 0)) * d[i]) : Float64Array.from(d);
      buf = b;
      dir = o.nesterov ? d.map((v, i) => v + mom * b[i]) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] -= o.lr * dir[i];
  }
  return p;
}

/** One parameter's f64 trajectory under torch.optim's Adam/AdamW: its own step count. */
function adamRef(p0: Float64Array, grads: (Float64Array | null)[], o: Hyper): Float64Array {
  const p = Float64Array.from(p0);
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? 0;
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  let step = 0;
  for (const grad of grads) {
    if (!grad) continue;
    step++;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (o.decoupled) p[i] *= 1 - o.lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** step) + eps;
      p[i] -= (o.lr / (1 - b1 ** step)) * (m[i] / denom);
    }
  }
  return p;
}

type Make = (ps: E.Tensor[], fused: boolean) => E.Optimizer;

const cases: [string, Make, (p0: Float64Array, g: (Float64Array | null)[]) => Float64Array][] = [];
const sgdCase = (name: string, o: Hyper) =>
  cases.push([name, (ps, fused) => new E.SGD(ps, { ...o, fused } as E.SGDOptions), (p0, g) => sgdRef(p0, g, o)]);
const adamCase = (name: string, o: Hyper) =>
  cases.push([name, (ps, fused) => new E.Adam(ps, { ...o, fused } as E.AdamOptions), (p0, g) => adamRef(p0, g, o)]);
sgdCase('SGD plain, weight decay', { lr: 0.1, weightDecay: 0.01 });
sgdCase('SGD momentum, dampening, weight decay', { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-3 });
sgdCase('SGD nesterov', { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
adamCase('Adam', { lr: 1e-2 });
adamCase('Adam with L2 weight decay', { lr: 3e-3, betas: [0.8, 0.99], eps: 1e-2, weightDecay: 0.05 });
adamCase('AdamW', { lr: 1e-2, weightDecay: 0.1, decoupled: true });

/** Parameters with seeded values, and the seeded gradient of parameter k at step s (or null). */
function makeParams(seed: number) {
  return SHAPES.map((shape, k) => {
    const r = randTensor(shape, seed + k);
    r.t.requiresGrad = true;
    return r;
  });
}
const gradOf = (k: number, s: number) => randTensor(SHAPES[k], 1000 + 10 * k + s, -2, 2);

/** Run steps [from, to) on `params` with `opt`; returns the f64 gradients used (null where none). */
function runSteps(opt: E.Optimizer, params: E.Tensor[], from: number, to: number): (Float64Array | null)[][] {
  const used: (Float64Array | null)[][] = params.map(() => []);
  for (let s = from; s < to; s++) {
    params.forEach((p, k) => {
      if (!hasGrad(k, s)) {
        used[k].push(null);
        return;
      }
      const g = gradOf(k, s);
      p.grad = g.t;
      used[k].push(g.v);
    });
    opt.step();
    opt.zeroGrad();
  }
  return used;
}

for (const [name, make, ref] of cases) {
  test(`fused ${name}: ${SHAPES.length} parameters, some without gradients, match the per-parameter f64 rule and the unfused path bit for bit`, async () => {
    const fusedPs = makeParams(7);
    const plainPs = makeParams(7);
    const fused = make(fusedPs.map((r) => r.t), true);
    const plain = make(plainPs.map((r) => r.t), false);
    assert.ok(fused.isFused, 'the fused optimiser took the arena path');
    assert.not.ok(plain.isFused, 'fused: false stays per parameter');
    const grads = runSteps(fused, fusedPs.map((r) => r.t), 0, STEPS);
    runSteps(plain, plainPs.map((r) => r.t), 0, STEPS);
    for (let k = 0; k < SHAPES.length; k++) {
      const got = await read(fusedPs[k].t);
      if (k === 3) assertClose(got, fusedPs[k].v, 0, 0, `${name}: parameter ${k} never had a gradient and must not move`);
      // f32 over 4 steps of O(lr) updates.
      assertClose(got, ref(fusedPs[k].v, grads[k]), 1e-5, 2e-6, `${name}: parameter ${k} vs f64`);
      // One shader for both paths: the arena must not change a single bit.
      assertClose(got, await read(plainPs[k].t), 0, 0, `${name}: parameter ${k} fused vs per parameter`);
    }
    fused.dispose();
    plain.dispose();
    for (const r of [...fusedPs, ...plainPs]) r.t.dispose();
  });
}

test('fused stateDict equals the per-parameter one, and resuming (fused ↔ unfused) is bit-exact', async () => {
  for (const [name, make] of [cases[1], cases[4]]) {
    const aPs = makeParams(21);
    const bPs = makeParams(21);
    const a = make(aPs.map((r) => r.t), true);
    const b = make(bPs.map((r) => r.t), false);
    runSteps(a, aPs.map((r) => r.t), 0, 2);
    runSteps(b, bPs.map((r) => r.t), 0, 2);
    const sa = await a.stateDict();
    const sb = await b.stateDict();
    assert.is(sa.kind, sb.kind);
    sa.state.forEach((s, k) => {
      const t = sb.state[k];
      assert.is(s === null, t === null, `${name}: parameter ${k} has state in one dict only`);
      if (!s || !t) return;
      assert.is(s.step, t.step, `${name}: parameter ${k} step count`);
      assert.equal(Object.keys(s.slots).sort(), Object.keys(t.slots).sort());
      for (const slot of Object.keys(s.slots)) assertClose(s.slots[slot], t.slots[slot], 0, 0, `${name}: parameter ${k} ${slot}`);
    });
    // Resume each dict in the other kind of optimiser over copies of the parameters, then go on.
    for (const [saved, fusedResume, src] of [[sa, false, aPs], [sb, true, bPs]] as const) {
      const cPs = await Promise.all(src.map(async (r) => {
        const t = E.tensor(await r.t.data(), r.t.shape);
        t.requiresGrad = true;
        return t;
      }));
      const c = make(cPs, fusedResume);
      assert.is(c.isFused, fusedResume);
      c.loadStateDict(saved);
      runSteps(c, cPs, 2, STEPS);
      if (src === aPs) runSteps(a, aPs.map((r) => r.t), 2, STEPS);
      else runSteps(b, bPs.map((r) => r.t), 2, STEPS);
      for (let k = 0; k < SHAPES.length; k++) {
        assertClose(await read(cPs[k]), await read(src[k].t), 0, 0, `${name}: parameter ${k} resumed (${fusedResume ? 'fused' : 'unfused'} from the other)`);
      }
      c.dispose();
      for (const t of cPs) t.dispose();
    }
    a.dispose();
    b.dispose();
    for (const r of [...aPs, ...bPs]) r.t.dispose();
  }
});

test("a module's parameters stay its own tensors after a fused optimiser adopts them: same values, same forward, loadStateDict reaches them", async () => {
  const net = new E.Sequential(new E.Conv2d(2, 5, 3, { padding: 1 }), new E.BatchNorm2d(5), new E.LeakyReLU(0.1), new E.Conv2d(5, 3, 1));
  net.eval();
  const x = randTensor([2, 2, 6, 7], 4).t;
  // In a scope of its own: a live graph shares the parameters' storage, and a shared parameter stays
  // per parameter (it cannot move without the other handle seeing stale memory).
  const before = await E.tidy(async () => read(net.forward(x)));
  const handles = net.parameters();
  const values = await Promise.all(handles.map((p) => read(p)));
  const opt = new E.SGD(handles, { lr: 0.1 });
  assert.ok(opt.isFused);
  const after = net.parameters();
  handles.forEach((p, i) => assert.ok(after[i] === p, `parameter ${i} is the same handle`));
  for (let i = 0; i < handles.length; i++) assertClose(await read(handles[i]), values[i], 0, 0, `parameter ${i} values`);
  // Kernels must bind each parameter at its slot in the arena, not the arena's start.
  assertClose(await read(net.forward(x)), before, 0, 0, 'forward after adoption');
  // Loading a state dict writes into the slots (and reading one reads them).
  const sd = new Map(await Promise.all([...net.stateDict()].map(async ([k, t]) => [k, E.tensor(await t.data(), t.shape, t.dtype)] as [string, E.Tensor])));
  const zeroed = new Map([...sd].map(([k, t]) => [k, E.zeros(t.shape, t.dtype)]));
  net.loadStateDict(zeroed);
  for (const p of handles) assertClose(await read(p), new Float64Array(p.size), 0, 0, 'loaded zeros');
  net.loadStateDict(sd);
  assertClose(await read(net.forward(x)), before, 0, 0, 'forward after a state dict round trip');
  opt.dispose();
  // Disposing the optimiser leaves the module's parameters alive and readable.
  for (let i = 0; i < handles.length; i++) assertClose(await read(handles[i]), values[i], 0, 0, `parameter ${i} after the optimiser is gone`);
  net.dispose();
});


// Catches: a trainer whose optimiser silently falls back to one dispatch per parameter (e.g. built
// after a forward pass left another handle on its parameters, or over parameters another optimiser
// holds) — the fused path's saving would be lost in every real run without any test noticing.
test('the trainers update through the fused optimiser: a few update dispatches per step, not one per parameter', async () => {
  const dir = tempDir('fused-trainers');
  const updates = new Map<string, number>();
  const previous = E.observeDispatches((d) => {
    if (d.op === 'sgdUpdate' || d.op === 'adamUpdate') updates.set(d.op, (updates.get(d.op) ?? 0) + 1);
  });
  try {
    const sup = tinySupervised(`${dir}/sup`, { iterations: 3, valEvery: 3 });
    await quiet(() => E.trainSupervised(tinyPhantom(), sup));
    const unetParams = E.tidy(() => new E.UNet({ numClasses: 4, seed: 1 })).parameters().length;
    const perStep = updates.get('sgdUpdate')! / 3;
    assert.ok(perStep <= 4, `supervised: ${perStep} SGD dispatches per step for ${unetParams} parameters`);
    updates.clear();
    await quiet(() => E.trainSemiSupervised(tinyPhantom(), tinySemi(`${dir}/bcp`, 'bcp', { preIterations: 2, selfIterations: 2 })));
    assert.ok(updates.get('sgdUpdate')! / 4 <= 4, `bcp: ${updates.get('sgdUpdate')! / 4} SGD dispatches per step`);
  } finally {
    E.observeDispatches(previous);
  }
});

test.run();
