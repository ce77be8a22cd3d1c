// A seeded CPU random generator (xoshiro128**) whose whole state is four 32-bit words, so data
// pipelines (augmentation, sampling, phantom generation) can save it in a checkpoint and resume
// exactly where they stopped. Not cryptographic; fast and well distributed for data work.

/** The complete generator state: JSON-serialisable. */
export interface RngState {
  algorithm: 'xoshiro128**';
  words: [number, number, number, number];
}

/** splitmix32: spreads a small seed over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixes a seed with a list of integers (e.g. a slice index) into one 32-bit seed. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = splitmix32(seed >>> 0);
  for (const p of parts) h = splitmix32((h ^ Math.imul(p >>> 0, 0x27d4eb2d)) >>> 0);
  return h;
}

export class SeededRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = splitmix32(x);
      words.push(x);
    }
    // An all-zero state would be a fixed point; splitmix32 never yields four zeros, but guard anyway.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  static fromState(state: RngState): SeededRng {
    if (state.algorithm !== 'xoshiro128**' || state.words.length !== 4) {
      throw new Error(`SeededRng.fromState: unsupported state ${JSON.stringify(state)}`);
    }
    const r = new SeededRng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.words.map((w) => w >>> 0);
    return r;
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', words: [this.s0, this.s1, this.s2, this.s3] };
  }

  clone(): SeededRng {
    return SeededRng.fromState(this.state());
  }

  /** Next raw 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi) — like numpy's randint(lo, hi). */
  int(lo: number, hi: number): number {
    if (!(hi > lo)) throw new Error(`SeededRng.int: empty range [${lo}, ${hi})`);
    return lo + Math.floor(this.next() * (hi - lo));
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal by Box–Muller (no cached spare, so the state stays four words). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log stays finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
