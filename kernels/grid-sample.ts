// Bilinear grid sampling (torch.nn.functional.grid_sample with mode 'bilinear', padding 'zeros',
// align_corners false) and affine_grid. The gradient with respect to the image is its own op,
// gridSampleImageGrad (the adjoint, a scatter), whose gradient is gridSample again: so second
// derivatives with respect to the image work (R1 through ADA's augmentation). The grid is treated as
// a constant (ADA builds it from sampled parameters; nothing here needs its gradient).
// One WGSL per kernel: nothing but the kernel changes the shader; all sizes travel in uniforms.
import source from '../shaders/grid-sample.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import { zeros, type Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;

const PARAMS = uniforms('Params', { n: 'u32', channels: 'u32', inH: 'u32', inW: 'u32', outH: 'u32', outW: 'u32' });
const gridKernel = (name: 'affineGrid' | 'sample' | 'imageGrad') => kernel(`gridSample:${name}`, PARAMS, WG, () => ({ body: SRC[name] }));

function params(n: number, channels: number, inH: number, inW: number, outH: number, outW: number) {
  return { n, channels, inH, inW, outH, outW };
}

function checkGrid(op: string, x: { shape: Shape }, grid: Tensor): void {
  expectDtype(op, grid, 'f32');
  const [n] = x.shape;
  if (x.shape.length !== 4 || grid.rank !== 4 || grid.shape[0] !== n || grid.shape[3] !== 2) {
    throw new ShapeError(op, 'expects an image [N, C, H, W] and a grid [N, Hout, Wout, 2]', [x.shape, grid.shape]);
  }
}

/** affine_grid(theta, size, align_corners=False): theta [N, 2, 3] → grid [N, H, W, 2] of (x, y). */
export function affineGrid(theta: Tensor, size: [number, number, number, number]): Tensor {
  expectDtype('affineGrid', theta, 'f32');
  const [n, , h, w] = size;
  if (theta.rank !== 3 || theta.shape[0] !== n || theta.shape[1] !== 2 || theta.shape[2] !== 3) {
    throw new ShapeError('affineGrid', `theta must be [${n}, 2, 3] for size [${size.join(', ')}]`, [theta.shape]);
  }
  const grid = out([n, h, w, 2], 'f32', 'affineGrid');
  if (grid.size) run(gridKernel('affineGrid'), [theta, grid], params(n, 1, 0, 0, h, w), grid1d(n * h * w, WG), 'affineGrid');
  return grid;
}

/** Sample x [N, C, H, W] at grid [N, Hout, Wout, 2] → [N, C, Hout, Wout]. */
export function gridSample(x: Tensor, grid: Tensor): Tensor {
  expectDtype('gridSample', x, 'f32');
  checkGrid('gridSample', x, grid);
  const [n, c, h, w] = x.shape;
  const [, ho, wo] = grid.shape;
  const y = out([n, c, ho, wo], 'f32', 'gridSample');
  if (y.size) run(gridKernel('sample'), [x, grid, y], params(n, c, h, w, ho, wo), grid1d(y.size, WG), 'gridSample');
  return record(y, 'gridSample', [x], [grid], (g, [sgrid]) => [gridSampleImageGrad(g, sgrid, x.shape)]);
}

/** The gradient of gridSample with respect to its image: g [N, C, Hout, Wout] → [N, C, H, W]. */
export function gridSampleImageGrad(g: Tensor, grid: Tensor, imageShape: Shape): Tensor {
  expectDtype('gridSampleImageGrad', g, 'f32');
  checkGrid('gridSampleImageGrad', { shape: imageShape }, grid);
  const [n, c, h, w] = imageShape;
  const [, ho, wo] = grid.shape;
  if (g.rank !== 4 || g.shape[0] !== n || g.shape[1] !== c || g.shape[2] !== ho || g.shape[3] !== wo) {
    throw new ShapeError('gridSampleImageGrad', `gradient must be [${n}, ${c}, ${ho}, ${wo}]`, [g.shape, grid.shape, imageShape]);
  }
  // Accumulated by atomic adds, so it starts from zeros.
  const dx = zeros(imageShape, 'f32');
  if (g.size) run(gridKernel('imageGrad'), [g, grid, dx], params(n, c, h, w, ho, wo), grid1d(g.size, WG), 'gridSampleImageGrad');
  return record(dx, 'gridSampleImageGrad', [g], [grid], (gg, [sgrid]) => [gridSample(gg, sgrid)]);
}
