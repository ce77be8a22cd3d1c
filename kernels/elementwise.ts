// Elementwise ops: unary, binary with NumPy broadcasting, and `where`. The cache key holds the
// expression and dtypes (they change the WGSL); sizes, shapes and scalars travel in uniforms.
// Each op's gradient sits beside it, written in these same differentiable ops so that second
// derivatives work (tests: test/autograd.test.ts).
import source from '../shaders/elementwise.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { broadcastShapes, broadcastStrides, coalesceDims, sameShape, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import { Tensor, type DType } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { sumTo } from './reduce.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;

const UNARY = uniforms('Params', { n: 'u32', s0: 'f32', s1: 'f32' });
const BINARY = uniforms('Params', { n: 'u32', rank: 'u32', s0: 'f32', s1: 'f32', shape: 'vec8', sa: 'vec8', sb: 'vec8' });
const TERNARY = uniforms('Params', { n: 'u32', rank: 'u32', shape: 'vec8', sa: 'vec8', sb: 'vec8', sc: 'vec8' });
const FILL: Record<DType, ReturnType<typeof fillParams>> = { f32: fillParams('f32'), i32: fillParams('i32'), u32: fillParams('u32') };

function fillParams(dtype: DType) {
  return uniforms('Params', { n: 'u32', value: dtype });
}

// ---------------------------------------------------------------------------------------------
// Launchers

function unaryKernel(op: string, a: Tensor, expr: string, s0 = 0, s1 = 0, outDtype: DType = a.dtype): Tensor {
  const y = out(a.shape, outDtype, op);
  if (y.size === 0) return y;
  const k = kernel(`unary:${a.dtype}>${outDtype}:${expr}`, UNARY, WG, () => ({
    body: SRC.unary,
    types: { T: outDtype, TA: a.dtype },
    slots: { EXPR: expr },
  }));
  run(k, [a, y], { n: a.size, s0, s1 }, grid1d(a.size, WG), op);
  return y;
}

function binaryKernel(op: string, a: Tensor, b: Tensor, expr: string, outDtype: DType = 'f32', s0 = 0, s1 = 0): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const y = out(shape, outDtype, op);
  if (y.size === 0) return y;
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  const walk = coalesceDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  // The rank is compiled in: llvmpipe then unrolls the index decomposition (a runtime-length loop
  // over uniform arrays costs ~8× the arithmetic of the op itself).
  const rank = broadcast ? walk.shape.length : 0;
  const k = kernel(`binary:${a.dtype},${b.dtype}>${outDtype}:r${rank}:${expr}`, BINARY, WG, () => ({
    body: SRC.binary,
    consts: { RANK: ['u32', rank] },
    types: { T: outDtype, TA: a.dtype, TB: b.dtype },
    slots: { EXPR: expr },
  }));
  const [sa, sb] = walk.strides;
  run(k, [a, b, y], { n: y.size, rank: walk.shape.length, s0, s1, shape: walk.shape, sa, sb }, grid1d(y.size, WG), op);
  return y;
}

function checkFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, [t.shape]);
  }
}

// ---------------------------------------------------------------------------------------------
// Binary arithmetic

type Operand = Tensor | number;

export function add(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') {
    const y = unaryKernel('add', a, 'a + P.s0', b);
    return record(y, 'addScalar', [a], [], (g) => [g]);
  }
  checkFloat('add', a, b);
  const y = binaryKernel('add', a, b, 'a + b');
  return record(y, 'add', [a, b], [], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return add(a, -b);
  checkFloat('sub', a, b);
  const y = binaryKernel('sub', a, b, 'a - b');
  return record(y, 'sub', [a, b], [], (g) => [sumTo(g, a.shape), neg(sumTo(g, b.shape))]);
}

/** b − a for a scalar b (1 − x is common in losses). */
export function rsub(b: number, a: Tensor): Tensor {
  const y = unaryKernel('rsub', a, 'P.s0 - a', b);
  return record(y, 'rsub', [a], [], (g) => [neg(g)]);
}

export function mul(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') {
    const y = unaryKernel('mul', a, 'a * P.s0', b);
    return record(y, 'mulScalar', [a], [], (g) => [mul(g, b)]);
  }
  checkFloat('mul', a, b);
  const y = binaryKernel('mul', a, b, 'a * b');
  return record(y, 'mul', [a, b], [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mul(g, sb), a.shape) : null,
    b.requiresGrad ? sumTo(mul(g, sa), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return mul(a, 1 / b);
  checkFloat('div', a, b);
  const y = binaryKernel('div', a, b, 'a / b');
  return record(y, 'div', [a, b], [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(div(g, sb), a.shape) : null,
    b.requiresGrad ? sumTo(neg(div(mul(g, sa), mul(sb, sb))), b.shape) : null,
  ]);
}

/** a^b elementwise; for a tensor exponent the base must be positive where b is not an integer. */
export function pow(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') {
    checkFloat('pow', a);
    if (b === 0) return record(onesLike(a), 'pow0', [a], [], (g) => [zerosLike(g)]);
    // WGSL's pow is undefined for a negative base; integer exponents get the sign by hand (s1: 0 =
    // not an integer → NaN for a < 0 as in PyTorch, 1 = odd, 2 = even).
    const kind = !Number.isInteger(b) ? 0 : Math.abs(b % 2) === 1 ? 1 : 2;
    const expr =
      b === 1 ? 'a' : b === 2 ? 'a * a' : 'select(select(pow(abs(a), P.s0), sign(a) * pow(abs(a), P.s0), P.s1 == 1.0), pow(a, P.s0), P.s1 == 0.0)';
    const y = unaryKernel('pow', a, expr, b, kind);
    return record(y, 'powScalar', [a], [a], (g, [sa]) => [mul(g, mul(pow(sa, b - 1), b))]);
  }
  checkFloat('pow', a, b);
  const y = binaryKernel('pow', a, b, 'pow(a, b)');
  return record(y, 'pow', [a, b], [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mul(g, mul(sb, pow(sa, sub(sb, onesLike(sb))))), a.shape) : null,
    b.requiresGrad ? sumTo(mul(g, mul(pow(sa, sb), log(sa))), b.shape) : null,
  ]);
}

export function maximum(a: Tensor, b: Tensor): Tensor {
  checkFloat('maximum', a, b);
  const y = binaryKernel('maximum', a, b, 'max(a, b)');
  return record(y, 'maximum', [a, b], [a, b], (g, [sa, sb]) => {
    const m = greaterEqual(sa, sb);
    return [sumTo(mul(g, m), a.shape), sumTo(mul(g, rsub(1, m)), b.shape)];
  });
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  checkFloat('minimum', a, b);
  const y = binaryKernel('minimum', a, b, 'min(a, b)');
  return record(y, 'minimum', [a, b], [a, b], (g, [sa, sb]) => {
    const m = lessEqual(sa, sb);
    return [sumTo(mul(g, m), a.shape), sumTo(mul(g, rsub(1, m)), b.shape)];
  });
}

// Comparisons: f32 masks of 0/1, not differentiable.
export const greater = (a: Tensor, b: Tensor) => binaryKernel('greater', a, b, 'select(0.0, 1.0, a > b)');
export const greaterEqual = (a: Tensor, b: Tensor) => binaryKernel('greaterEqual', a, b, 'select(0.0, 1.0, a >= b)');
export const lessEqual = (a: Tensor, b: Tensor) => binaryKernel('lessEqual', a, b, 'select(0.0, 1.0, a <= b)');
export const equal = (a: Tensor, b: Tensor) => binaryKernel('equal', a, b, 'select(0.0, 1.0, a == b)');

// ---------------------------------------------------------------------------------------------
// Unary math

export function neg(a: Tensor): Tensor {
  const y = unaryKernel('neg', a, '-a');
  return record(y, 'neg', [a], [], (g) => [neg(g)]);
}

export function exp(a: Tensor): Tensor {
  checkFloat('exp', a);
  const y = unaryKernel('exp', a, 'exp(a)');
  return record(y, 'exp', [a], [y], (g, [sy]) => [mul(g, sy)]);
}

export function log(a: Tensor): Tensor {
  checkFloat('log', a);
  const y = unaryKernel('log', a, 'log(a)');
  return record(y, 'log', [a], [a], (g, [sa]) => [div(g, sa)]);
}

export function sqrt(a: Tensor): Tensor {
  checkFloat('sqrt', a);
  const y = unaryKernel('sqrt', a, 'sqrt(a)');
  return record(y, 'sqrt', [a], [y], (g, [sy]) => [div(mul(g, 0.5), sy)]);
}

export function rsqrt(a: Tensor): Tensor {
  checkFloat('rsqrt', a);
  const y = unaryKernel('rsqrt', a, 'inverseSqrt(a)');
  // d/da a^(-1/2) = -1/2 · y³
  return record(y, 'rsqrt', [a], [y], (g, [sy]) => [mul(g, mul(pow(sy, 3), -0.5))]);
}

export function abs(a: Tensor): Tensor {
  checkFloat('abs', a);
  const y = unaryKernel('abs', a, 'abs(a)');
  return record(y, 'abs', [a], [a], (g, [sa]) => [mul(g, sign(sa))]);
}

/** −1, 0 or 1 (not differentiable). */
export const sign = (a: Tensor) => unaryKernel('sign', a, 'sign(a)');

export function clamp(a: Tensor, lo: number, hi: number): Tensor {
  checkFloat('clamp', a);
  if (!(lo <= hi)) throw new Error(`clamp: lower bound ${lo} exceeds upper bound ${hi}`);
  const y = unaryKernel('clamp', a, 'clamp(a, P.s0, P.s1)', lo, hi);
  // PyTorch passes the gradient where lo ≤ a ≤ hi.
  return record(y, 'clamp', [a], [a], (g, [sa]) => [mul(g, unaryKernel('clampGate', sa, 'select(0.0, 1.0, a >= P.s0 && a <= P.s1)', lo, hi))]);
}

export function relu(a: Tensor): Tensor {
  checkFloat('relu', a);
  const y = unaryKernel('relu', a, 'max(a, 0.0)');
  return record(y, 'relu', [a], [a], (g, [sa]) => [mul(g, unaryKernel('reluGate', sa, 'select(0.0, 1.0, a > 0.0)'))]);
}

export function leakyRelu(a: Tensor, slope = 0.01): Tensor {
  checkFloat('leakyRelu', a);
  const y = unaryKernel('leakyRelu', a, 'select(a * P.s0, a, a > 0.0)', slope);
  return record(y, 'leakyRelu', [a], [a], (g, [sa]) => [mul(g, unaryKernel('leakyGate', sa, 'select(P.s0, 1.0, a > 0.0)', slope))]);
}

/** GELU, erf form (PyTorch's default): x·Φ(x). */
export function gelu(a: Tensor): Tensor {
  checkFloat('gelu', a);
  const y = unaryKernel('gelu', a, '0.5 * a * (1.0 + erf_(a * INV_SQRT2))');
  return record(y, 'gelu', [a], [a], (g, [sa]) => [mul(g, geluDerivative(sa))]);
}

/** Φ(x) + x·φ(x), itself differentiable (its derivative is φ(x)·(2 − x²)). */
function geluDerivative(a: Tensor): Tensor {
  const d = unaryKernel('geluGrad', a, '0.5 * (1.0 + erf_(a * INV_SQRT2)) + a * phi_(a)');
  return record(d, 'geluGrad', [a], [a], (g, [sa]) => [mul(g, unaryKernel('geluGrad2', sa, 'phi_(a) * (2.0 - a * a)'))]);
}

export function sigmoid(a: Tensor): Tensor {
  checkFloat('sigmoid', a);
  const y = unaryKernel('sigmoid', a, 'select(exp(a) / (1.0 + exp(a)), 1.0 / (1.0 + exp(-a)), a >= 0.0)');
  return record(y, 'sigmoid', [a], [y], (g, [sy]) => [mul(g, mul(sy, rsub(1, sy)))]);
}

/** log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|) so it neither overflows nor loses small values. */
export function softplus(a: Tensor): Tensor {
  checkFloat('softplus', a);
  const y = unaryKernel('softplus', a, 'max(a, 0.0) + log(1.0 + exp(-abs(a)))');
  return record(y, 'softplus', [a], [a], (g, [sa]) => [mul(g, sigmoid(sa))]);
}

export function tanh(a: Tensor): Tensor {
  checkFloat('tanh', a);
  // WGSL's tanh overflows to NaN for |a| > ~44 on some drivers; clamp first.
  const y = unaryKernel('tanh', a, 'tanh(clamp(a, -20.0, 20.0))');
  return record(y, 'tanh', [a], [y], (g, [sy]) => [mul(g, rsub(1, mul(sy, sy)))]);
}

/** cond ? a : b, with broadcasting over all three; gradient flows to the chosen branch. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkFloat('where', a, b);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const y = out(shape, 'f32', 'where');
  if (y.size) {
    const walk = coalesceDims(shape, [broadcastStrides(cond.shape, shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
    const rank = walk.shape.length;
    const k = kernel(`ternary:${cond.dtype}:r${rank}:where`, TERNARY, WG, () => ({
      body: SRC.ternary,
      consts: { RANK: ['u32', rank] },
      types: { T: 'f32', TA: cond.dtype, TB: 'f32', TC: 'f32' },
      slots: { EXPR: 'select(c, b, a != TA(0))' },
    }));
    const [sa, sb, sc] = walk.strides;
    run(k, [cond, a, b, y], { n: y.size, rank, shape: walk.shape, sa, sb, sc }, grid1d(y.size, WG), 'where');
  }
  return record(y, 'where', [a, b], [cond], (g, [c]) => {
    const zero = zerosLike(g);
    return [sumTo(where(c, g, zero), a.shape), sumTo(where(c, zero, g), b.shape)];
  });
}

// ---------------------------------------------------------------------------------------------
// Constants and casts

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const y = out(shape, dtype, 'full');
  if (!y.size) return y;
  const k = kernel(`fill:${dtype}`, FILL[dtype], WG, () => ({ body: SRC.fill, types: { T: dtype } }));
  run(k, [y], { n: y.size, value }, grid1d(y.size, WG), 'full');
  return y;
}

export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);

export function cast(a: Tensor, dtype: DType): Tensor {
  if (a.dtype === dtype) return unaryKernel('copy', a, 'a');
  return unaryKernel('cast', a, `${dtype}(a)`, 0, 0, dtype);
}

/** A copy of `a` (same graph: the gradient passes through). */
export function clone(a: Tensor): Tensor {
  const y = unaryKernel('clone', a, 'a');
  return record(y, 'clone', [a], [], (g) => [g]);
}

/** A copy cut off from the graph. */
export function detach(a: Tensor): Tensor {
  return a.view(a.shape);
}
