import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

/** Philox-4x32-10 in f64-free integer JS (BigInt products), independent of the WGSL's 16-bit split. */
function philoxRef(ctr: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map((v) => BigInt(v >>> 0));
  let [k0, k1] = key.map((v) => BigInt(v >>> 0));
  const M = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & M, (p0 >> 32n) ^ c3 ^ k1, p0 & M];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return [c0, c1, c2, c3].map(Number);
}

/** The words a call of n numbers should see, from a generator state (seed, offset). */
function expectedWords(seed: number, offset: number, n: number): number[] {
  const words: number[] = [];
  for (let b = 0; words.length < n; b++) {
    const c = offset + b;
    words.push(...philoxRef([c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0], [seed % 2 ** 32, Math.floor(seed / 2 ** 32)]));
  }
  return words.slice(0, n);
}

test('the reference Philox matches the Random123 known-answer vectors', () => {
  assert.equal(philoxRef([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  assert.equal(philoxRef([-1, -1, -1, -1], [-1, -1]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  assert.equal(
    philoxRef([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
});

test('GPU Philox words match the reference, including 64-bit seeds and a counter carry', async () => {
  for (const [seed, offset] of [
    [0, 0],
    [123456789012, 2 ** 32 - 2], // high seed word and a carry into the counter's high word
  ]) {
    const gen = new E.Generator(seed);
    gen.setState({ seed, offset });
    const bits = E.randomBits([3, 7], gen); // 21 words: the last block is partly used
    assert.equal([...(await bits.data())], expectedWords(seed, offset, 21), `seed ${seed} offset ${offset}`);
    assert.equal(gen.state(), { seed, offset: offset + 6 }, 'a call consumes ceil(n / 4) blocks');
    bits.dispose();
  }
});

test('same seed and call sequence → same numbers; another seed → different; state restores', async () => {
  const a = new E.Generator(42);
  const b = new E.Generator(42);
  const c = new E.Generator(43);
  const a1 = await read(E.rand([5, 9], a));
  const saved = a.state();
  const a2 = await read(E.randn([13], a));
  assert.equal([...(await read(E.rand([5, 9], b)))], [...a1]);
  assert.equal([...(await read(E.randn([13], b)))], [...a2]);
  const c1 = await read(E.rand([5, 9], c));
  assert.ok(c1.some((v, i) => v !== a1[i]), 'seed 43 differs from seed 42');
  assert.ok(a2.some((v, i) => v !== a1[i]), 'consecutive calls differ');
  assert.equal([...(await read(E.randn([13], E.Generator.fromState(saved))))], [...a2], 'a generator from a saved state replays');
  a.setState(saved);
  assert.equal([...(await read(E.randn([13], a)))], [...a2], 'restored state replays the call');
  assert.throws(() => a.setState({ seed: -1, offset: 0 }), /Generator: seed and offset must be non-negative safe integers/);
});

/** Mean, variance, and the fraction of samples below `t`, in f64. */
function moments(v: Float64Array): { mean: number; variance: number } {
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, variance: q / v.length };
}

const N = 100_003; // not a multiple of 4: the last Philox block is partly used

test('rand: uniform [0, 1) moments on 1e5 samples', async () => {
  const v = await read(E.rand([N], new E.Generator(7)));
  assert.ok(v.every((x) => x >= 0 && x < 1), 'all in [0, 1)');
  const { mean, variance } = moments(v);
  // Standard errors: mean 0.29/√N ≈ 9e-4, variance ≈ 2.7e-4; allow 5σ.
  assertClose([mean, variance], [0.5, 1 / 12], 0, 5e-3, 'uniform mean and variance');
  let below = 0;
  for (const x of v) if (x < 0.25) below++;
  assertClose([below / N], [0.25], 0, 7e-3, 'P(x < 0.25)'); // σ ≈ 1.4e-3
});

test('randn: standard normal moments on 1e5 samples', async () => {
  const v = await read(E.randn([N], new E.Generator(8)));
  const { mean, variance } = moments(v);
  let k4 = 0;
  let within1 = 0;
  for (const x of v) {
    k4 += x ** 4;
    if (Math.abs(x) < 1) within1++;
  }
  // Standard errors: mean 3.2e-3, variance 4.5e-3, fourth moment (3) ≈ 0.03, P(|x|<1) 1.5e-3; 5σ.
  assertClose([mean, variance], [0, 1], 0, 2.3e-2, 'normal mean and variance');
  assertClose([k4 / N], [3], 0, 0.16, 'normal fourth moment');
  assertClose([within1 / N], [0.6826894921], 0, 7.5e-3, 'P(|x| < 1)');
  assert.ok(v.every(Number.isFinite), 'no infinities from log(0)');
});

test('bernoulliMask: values are 0/1 with the requested rate', async () => {
  const v = await read(E.bernoulliMask([N], 0.3, new E.Generator(9)));
  assert.ok(v.every((x) => x === 0 || x === 1));
  const { mean } = moments(v);
  assertClose([mean], [0.3], 0, 7.5e-3, 'rate'); // σ ≈ 1.45e-3
});

test('dropout: drop fraction, 1/(1−p) scaling, backward uses the same mask; identity in eval', async () => {
  const p = 0.25;
  const { t: x, v: xv } = randTensor([7, 31, 61], 3, 0.5, 1.5); // no zeros, so zeros mean "dropped"
  x.requiresGrad = true;
  const y = E.dropout(x, p, true, new E.Generator(10));
  const yv = await read(y);
  let dropped = 0;
  for (let i = 0; i < yv.length; i++) {
    if (yv[i] === 0) dropped++;
    else assertClose([yv[i]], [xv[i] / (1 - p)], 1e-6, 0, `kept element ${i} is scaled`);
  }
  assertClose([dropped / yv.length], [p], 0, 0.02, 'drop fraction'); // 13,237 samples: σ ≈ 3.8e-3
  E.backward(E.sum(y));
  const gv = await read(x.grad!);
  gv.forEach((g, i) => assert.is(g, yv[i] === 0 ? 0 : Math.fround(1 / (1 - p)), `gradient ${i}`)); // the f32 scale
  const evalY = E.dropout(x, p, false);
  assert.equal([...(await read(evalY))], [...xv], 'eval mode is the identity');
  const none = await read(E.dropout(x, 1, true, new E.Generator(1)));
  assert.ok(none.every((v) => v === 0), 'p = 1 drops everything');
  assert.throws(() => E.dropout(x, 1.5, true), /dropout: probability 1.5 is outside \[0, 1\]/);
});

test.run();
