// Random numbers on the GPU from a counter-based generator (Philox-4x32-10, shaders/random.wgsl).
// A Generator is just (seed, offset): each call consumes a range of 128-bit counter blocks, so the
// same seed and the same sequence of calls give the same numbers on any device, and saving the state
// (two numbers) is enough to resume training exactly. Nothing here changes the WGSL but the kind of
// distribution; the seed, offset and probabilities travel in uniforms.
import source from '../shaders/random.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { numel, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { mul } from './elementwise.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;
/** Each Philox block yields four 32-bit words: one per output element. */
const WORDS_PER_BLOCK = 4;
const TWO_32 = 2 ** 32;

export interface GeneratorState {
  seed: number;
  /** Counter blocks consumed so far. */
  offset: number;
}

export class Generator {
  private seed = 0;
  private offset = 0;

  constructor(seed: number) {
    this.setState({ seed, offset: 0 });
  }

  /** A generator resumed from a saved state(). */
  static fromState(state: GeneratorState): Generator {
    const g = new Generator(state.seed);
    g.setState(state);
    return g;
  }

  state(): GeneratorState {
    return { seed: this.seed, offset: this.offset };
  }

  setState(state: GeneratorState): void {
    const ok = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (!ok(state.seed) || !ok(state.offset)) {
      throw new Error(`Generator: seed and offset must be non-negative safe integers, got ${JSON.stringify(state)}`);
    }
    this.seed = state.seed;
    this.offset = state.offset;
  }

  /** Reserve the counter blocks for `n` numbers; returns the first block's index. */
  take(n: number): number {
    const start = this.offset;
    this.offset += Math.ceil(n / WORDS_PER_BLOCK);
    return start;
  }
}

let defaultGen = new Generator(0);

/** The generator used when none is passed. */
export function defaultGenerator(): Generator {
  return defaultGen;
}

/** Reseed the default generator (torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  defaultGen = new Generator(seed);
  return defaultGen;
}

type Kind = 'bits' | 'uniform' | 'normal' | 'bernoulli' | 'dropout';

/** Uniforms: element count, key (seed) and counter start as 64-bit halves, then p and scale. */
const PARAMS = uniforms('Params', { n: 'u32', keyLo: 'u32', keyHi: 'u32', offLo: 'u32', offHi: 'u32', p: 'f32', scale: 'f32' });
const randomKernel = (kind: Kind) => kernel(`random:${kind}`, PARAMS, WG, () => ({ body: SRC[kind] }));

function params(n: number, gen: Generator, p = 0, scale = 0) {
  const { seed } = gen.state();
  const start = gen.take(n);
  return { n, keyLo: seed % TWO_32, keyHi: Math.floor(seed / TWO_32), offLo: start % TWO_32, offHi: Math.floor(start / TWO_32), p, scale };
}

function generate(op: string, kind: Kind, shape: Shape, gen: Generator, p = 0, scale = 0): Tensor {
  const y = out(shape, kind === 'bits' ? 'u32' : 'f32', op);
  const n = numel(shape);
  if (!n) return y;
  run(randomKernel(kind), [y], params(n, gen, p, scale), grid1d(Math.ceil(n / WORDS_PER_BLOCK), WG), op);
  return y;
}

function checkProbability(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: probability ${p} is outside [0, 1]`);
}

/** Raw Philox output words (u32), mainly to check the generator against its published test vectors. */
export function randomBits(shape: Shape, gen: Generator = defaultGen): Tensor {
  return generate('randomBits', 'bits', shape, gen);
}

/** Uniform in [0, 1) with 24 random bits. */
export function rand(shape: Shape, gen: Generator = defaultGen): Tensor {
  return generate('rand', 'uniform', shape, gen);
}

/** Standard normal (Box–Muller). */
export function randn(shape: Shape, gen: Generator = defaultGen): Tensor {
  return generate('randn', 'normal', shape, gen);
}

/** 1 with probability p, else 0 (f32). */
export function bernoulliMask(shape: Shape, p: number, gen: Generator = defaultGen): Tensor {
  checkProbability('bernoulliMask', p);
  return generate('bernoulliMask', 'bernoulli', shape, gen, p, 1);
}

/**
 * Inverted dropout: in training, zero each element with probability p and scale the rest by
 * 1/(1 − p); otherwise the identity. The backward multiplies by the same (saved) scaled mask.
 */
export function dropout(x: Tensor, p: number, training: boolean, gen: Generator = defaultGen): Tensor {
  checkProbability('dropout', p);
  if (x.dtype !== 'f32') throw new ShapeError('dropout', `expects an f32 tensor, got ${x.dtype}`, [x.shape]);
  if (!training || p === 0) return x.share();
  const keep = 1 - p;
  const mask = out(x.shape, 'f32', 'dropoutMask');
  const y = out(x.shape, 'f32', 'dropout');
  if (x.size) {
    // p = 1 drops everything (scale 0 rather than 1/0, as PyTorch returns zeros).
    run(randomKernel('dropout'), [x, mask, y], params(x.size, gen, keep, keep > 0 ? 1 / keep : 0), grid1d(Math.ceil(x.size / WORDS_PER_BLOCK), WG), 'dropout');
  }
  record(y, 'dropout', [x], [mask], (g, [m]) => [mul(g, m)]);
  mask.dispose();
  return y;
}
