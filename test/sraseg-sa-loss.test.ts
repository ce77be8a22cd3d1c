import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

/** f64 reference: nearest real row per synthetic row (first on ties), loss, and both gradients. */
function refSa(s: Float64Array, r: Float64Array, N: number, M: number, D: number, squared: boolean) {
  const nearest: number[] = [];
  const dmin: number[] = [];
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let arg = 0;
    for (let j = 0; j < M; j++) {
      let d = 0;
      for (let k = 0; k < D; k++) d += (s[i * D + k] - r[j * D + k]) ** 2;
      if (d < best) [best, arg] = [d, j];
    }
    nearest.push(arg);
    dmin.push(squared ? best : Math.sqrt(best));
  }
  const loss = dmin.reduce((a, b) => a + b, 0) / N;
  const gs = new Float64Array(N * D);
  const gr = new Float64Array(M * D);
  for (let i = 0; i < N; i++) {
    const coef = squared ? 2 : dmin[i] > 0 ? 1 / dmin[i] : 0;
    for (let k = 0; k < D; k++) {
      const v = (coef * (s[i * D + k] - r[nearest[i] * D + k])) / N;
      gs[i * D + k] = v;
      gr[nearest[i] * D + k] -= v;
    }
  }
  return { loss, nearest, gs, gr };
}

async function check(N: number, M: number, D: number, squared: boolean, seed: number) {
  const S = randTensor([N, D], seed);
  const R = randTensor([M, D], seed + 1);
  S.t.requiresGrad = true;
  R.t.requiresGrad = true;
  const want = refSa(S.v, R.v, N, M, D, squared);
  const { loss, nearest } = E.saLoss(S.t, R.t, { squared });
  const what = `N=${N} M=${M} D=${D} squared=${squared}`;
  assert.equal([...(await nearest.data())], want.nearest, `${what} nearest`);
  assertClose([await loss.item()], [want.loss], 1e-5, 1e-6, `${what} loss`); // f32 sums over D terms
  E.backward(loss);
  assertClose(await read(S.t.grad!), want.gs, 1e-4, 1e-6, `${what} d f_syn`);
  assertClose(await read(R.t.grad!), want.gr, 1e-4, 1e-6, `${what} d f_real`);
  for (const t of [S.t, R.t, S.t.grad!, R.t.grad!, loss, nearest]) t.dispose();
}

test('saLoss forward and gradients against f64 at awkward sizes, both distance forms', async () => {
  for (const squared of [false, true]) {
    await check(1, 1, 1, squared, 1);
    await check(7, 5, 13, squared, 2);
    await check(12, 12, 768, squared, 3); // ViT-B width
    await check(70, 3, 33, squared, 4); // many synthetic rows share a nearest real row
  }
});

test('saLoss gradient by finite differences through the GPU op', async () => {
  // Small D and well-separated rows keep the nearest index stable under the ±h probes.
  const { gradCheck } = await import('./helpers.js');
  await gradCheck((s, r) => E.saLoss(s, r).loss, [{ shape: [4, 3] }, { shape: [3, 3], lo: -3, hi: 3 }], { h: 1e-3, rtol: 2e-2, atol: 2e-3, what: 'saLoss' });
});

test('saLoss: frozen real embeddings get no gradient; zero distance has a zero subgradient; bad shapes throw', async () => {
  const s = E.tensor([1, 2, 3, 4], [2, 2]);
  const r = E.tensor([1, 2, 0, 0], [2, 2]);
  s.requiresGrad = true;
  const { loss } = E.saLoss(s, r);
  assertClose([await loss.item()], [(0 + Math.hypot(2, 2)) / 2], 1e-6, 1e-7, 'loss');
  E.backward(loss);
  const c = 1 / (2 * Math.hypot(2, 2));
  assertClose(await read(s.grad!), [0, 0, 2 * c, 2 * c], 1e-6, 1e-7, 'grad');
  assert.is(r.grad, null);
  assert.throws(() => E.saLoss(s, E.zeros([2, 3])), /saLoss: expects/);
});

test.run();
