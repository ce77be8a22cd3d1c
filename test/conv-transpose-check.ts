// E.convTranspose2d at stride 2, padding 1, outputPadding 1 against the float64 reference, forward and
// all three gradients: the transposed convolution of x is the input gradient of the convolution y → x,
// so refConv with the roles swapped gives every expected value. Shared by the software-kernel test
// (test/conv2d.test.ts) and the GPU-kernel test (test/gpu-kernels.test.ts), which differ in shapes
// and tolerances only.
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';
import { fullGeo, refConv, type Shape4 } from './references.js';

/** Absolute tolerances per output (rtol 1e-5 for all); `seed`..`seed + 3` draw x, w, bias and dy. */
export interface ConvTransposeTolerances {
  y: number;
  dx: number;
  dw: number;
  db: number;
}

export async function checkConvTranspose2d(xs: Shape4, ws: Shape4, ys: Shape4, groups: number, seed: number, tol: ConvTransposeTolerances): Promise<void> {
  const geo = fullGeo({ stride: [2, 2], padding: [1, 1], groups });
  const x = randTensor(xs, seed);
  const w = randTensor(ws, seed + 1);
  const b = randTensor([ys[1]], seed + 2);
  const dy = randTensor(ys, seed + 3);
  x.t.requiresGrad = w.t.requiresGrad = b.t.requiresGrad = true;
  const y = E.convTranspose2d(x.t, w.t, b.t, { stride: 2, padding: 1, outputPadding: 1, groups });
  assert.equal([...y.shape], ys);
  const want = refConv(xs, ws, ys, geo, { x: x.v, w: w.v, b: b.v, dy: dy.v }, true, true);
  assertClose(await read(y), want.y, 1e-5, tol.y, 'y');
  E.backward(y, { grad: dy.t });
  assertClose(await read(x.t.grad!), want.dx, 1e-5, tol.dx, 'dx');
  assertClose(await read(w.t.grad!), want.dw, 1e-5, tol.dw, 'dw');
  assertClose(await read(b.t.grad!), want.db, 1e-5, tol.db, 'dbias');
  for (const t of [x.t, w.t, b.t, dy.t, y, x.t.grad, w.t.grad, b.t.grad]) t?.dispose();
}
