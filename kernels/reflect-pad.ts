// Reflection padding of an image's H and W axes (F.pad(x, [left, right, top, bottom], 'reflect')),
// used by ADA's geometric path before it upsamples. The gradient is the adjoint op (folding the
// mirrored borders back), whose gradient is the padding again, so second derivatives work.
// Cache key: the kernel name only; sizes and pads travel in uniforms.
import source from '../shaders/reflect-pad.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;

/** [left, right, top, bottom], as torch's pad list for the last two axes. */
export type ReflectPads = [number, number, number, number];

const PARAMS = uniforms('Params', { n: 'u32', inH: 'u32', inW: 'u32', outH: 'u32', outW: 'u32', top: 'u32', left: 'u32', bottom: 'u32', right: 'u32' });
const padKernel = (name: 'pad' | 'adjoint') => kernel(`reflectPad:${name}`, PARAMS, WG, () => ({ body: SRC[name] }));

function params(n: number, inShape: Shape, outShape: Shape, [left, right, top, bottom]: ReflectPads) {
  return { n, inH: inShape[2], inW: inShape[3], outH: outShape[2], outW: outShape[3], top, left, bottom, right };
}

function check(op: string, shape: Shape, pads: ReflectPads): void {
  const [left, right, top, bottom] = pads;
  if (shape.length !== 4) throw new ShapeError(op, 'expects an image [N, C, H, W]', [shape]);
  if (!pads.every((p) => Number.isInteger(p) && p >= 0)) throw new ShapeError(op, `pads must be non-negative integers, got [${pads}]`, [shape]);
  if (Math.max(left, right) >= shape[3] || Math.max(top, bottom) >= shape[2]) {
    throw new ShapeError(op, `reflection pads [${pads}] must be smaller than the image`, [shape]);
  }
}

/** x [N, C, H, W] → [N, C, top + H + bottom, left + W + right]. */
export function reflectPad2d(x: Tensor, pads: ReflectPads): Tensor {
  expectDtype('reflectPad2d', x, 'f32');
  check('reflectPad2d', x.shape, pads);
  const [left, right, top, bottom] = pads;
  const [n, c, h, w] = x.shape;
  const y = out([n, c, h + top + bottom, w + left + right], 'f32', 'reflectPad2d');
  if (y.size) run(padKernel('pad'), [x, y], params(y.size, x.shape, y.shape, pads), grid1d(y.size, WG), 'reflectPad2d');
  return record(y, 'reflectPad2d', [x], [], (g) => [reflectPad2dAdjoint(g, pads)]);
}

/** The gradient of reflectPad2d: g [N, C, H + pads, W + pads] → [N, C, H, W]. */
export function reflectPad2dAdjoint(g: Tensor, pads: ReflectPads): Tensor {
  expectDtype('reflectPad2dAdjoint', g, 'f32');
  const [left, right, top, bottom] = pads;
  const [n, c, ph, pw] = g.shape;
  const shape = [n, c, ph - top - bottom, pw - left - right];
  check('reflectPad2dAdjoint', shape, pads);
  const dx = out(shape, 'f32', 'reflectPad2dAdjoint');
  if (dx.size) run(padKernel('adjoint'), [g, dx], params(dx.size, shape, g.shape, pads), grid1d(dx.size, WG), 'reflectPad2dAdjoint');
  return record(dx, 'reflectPad2dAdjoint', [g], [], (gg) => [reflectPad2d(gg, pads)]);
}
