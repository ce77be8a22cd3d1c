// A procedural cardiac MRI phantom: the default dataset when no real data is given, so training,
// validation and the tests can run anywhere. Each short-axis slice has a bright LV blood pool
// (label 3) inside a dark ring of myocardium (label 2), a crescent RV (label 1) hugging it, inside a
// textured body on a dark background; the image gets a point-spread blur, a smooth multiplicative
// bias field and Rician noise (the magnitude of complex Gaussian noise), then min-max normalisation
// to [0, 1] like ACDC. Every slice and volume is a pure function of (seed, index): random access.
import { DataError, type SegDataset, type SliceSample, type VolumeSample } from './dataset.js';
import { deriveSeed, SeededRng } from './rng.js';

/** Heart geometry in pixels; orientation in radians. */
export interface HeartShape {
  centerRow: number;
  centerCol: number;
  lvRadius: number;
  myoThickness: number;
  /** Ratio of the LV's semi-axes (1 = circle). */
  elongation: number;
  orientation: number;
  /** RV size relative to the epicardial radius; 0 = no RV in this slice. */
  rvScale: number;
}

/** Everything about one slice's appearance that stays fixed across a volume. */
interface Scanner {
  bias: [number, number, number];
  noiseSigma: number;
  tissue: number;
  textureWaves: { fr: number; fc: number; phase: number; amp: number }[];
  bodyRadii: [number, number];
}

const INTENSITY = { air: 0.02, myo: 0.22, lvBlood: 0.85, rvBlood: 0.75 };

export function drawHeart(rng: SeededRng, size: number): HeartShape {
  return {
    centerRow: size * rng.uniform(0.38, 0.62),
    centerCol: size * rng.uniform(0.38, 0.62),
    lvRadius: size * rng.uniform(0.05, 0.1),
    myoThickness: size * rng.uniform(0.022, 0.04),
    elongation: rng.uniform(0.8, 1.25),
    orientation: rng.uniform(0, 2 * Math.PI),
    rvScale: rng.uniform(0.9, 1.3),
  };
}

function drawScanner(rng: SeededRng, size: number): Scanner {
  return {
    bias: [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)],
    noiseSigma: rng.uniform(0.015, 0.05),
    tissue: rng.uniform(0.3, 0.45),
    textureWaves: Array.from({ length: 6 }, () => ({
      fr: rng.uniform(-1, 1) * (Math.PI / 6),
      fc: rng.uniform(-1, 1) * (Math.PI / 6),
      phase: rng.uniform(0, 2 * Math.PI),
      amp: rng.uniform(0.01, 0.04),
    })),
    bodyRadii: [size * rng.uniform(0.38, 0.46), size * rng.uniform(0.42, 0.49)],
  };
}

/** Class of one pixel given the heart shape and cos/sin of its orientation (0 outside the heart). */
function heartClass(h: HeartShape, cos: number, sin: number, row: number, col: number): number {
  const dr = row - h.centerRow;
  const dc = col - h.centerCol;
  const u = cos * dc + sin * dr; // along the septum-to-RV axis
  const v = -sin * dc + cos * dr;
  const q = Math.hypot(u / h.elongation, v * h.elongation);
  const epi = h.lvRadius + h.myoThickness;
  if (q < h.lvRadius) return 3;
  if (q < epi) return 2;
  if (h.rvScale <= 0) return 0;
  // RV: an ellipse centred beside the LV along +u, minus the epicardium and a thin septal gap.
  const rvA = epi * 0.75 * h.rvScale;
  const rvB = epi * 1.35 * h.rvScale;
  const ru = (u - epi * 0.95) / rvA;
  const rv = v / rvB;
  return ru * ru + rv * rv < 1 && q > epi + 1.5 ? 1 : 0;
}

/** Renders one slice: labels from the geometry, then blur, bias, Rician noise (unnormalised). */
function render(h: HeartShape, scanner: Scanner, size: number, rng: SeededRng): { image: Float32Array; label: Uint8Array } {
  const label = new Uint8Array(size * size);
  const clean = new Float32Array(size * size);
  const half = (size - 1) / 2;
  const cos = Math.cos(h.orientation);
  const sin = Math.sin(h.orientation);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const i = r * size + c;
      const inBody = ((r - half) / scanner.bodyRadii[0]) ** 2 + ((c - half) / scanner.bodyRadii[1]) ** 2 < 1;
      const k = heartClass(h, cos, sin, r, c);
      label[i] = k;
      if (k === 3) clean[i] = INTENSITY.lvBlood;
      else if (k === 2) clean[i] = INTENSITY.myo;
      else if (k === 1) clean[i] = INTENSITY.rvBlood;
      else if (inBody) {
        let t = scanner.tissue;
        for (const w of scanner.textureWaves) t += w.amp * Math.sin(w.fr * r + w.fc * c + w.phase);
        clean[i] = t;
      } else clean[i] = INTENSITY.air;
    }
  }
  const image = new Float32Array(size * size);
  const [b1, b2, b3] = scanner.bias;
  const sigma = scanner.noiseSigma;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      // 3×3 box blur as a crude point-spread function (edge pixels average what exists).
      let sum = 0;
      let n = 0;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr >= 0 && rr < size && cc >= 0 && cc < size) {
            sum += clean[rr * size + cc];
            n++;
          }
        }
      }
      const y = r / half - 1;
      const x = c / half - 1;
      const bias = Math.exp(0.25 * (b1 * x + b2 * y + b3 * (x * x - y * y)));
      const signal = (sum / n) * bias;
      const re = signal + sigma * rng.normal();
      const im = sigma * rng.normal();
      image[r * size + c] = Math.hypot(re, im);
    }
  }
  return { image, label };
}

function normaliseInPlace(a: Float32Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < a.length; i++) a[i] = (a[i] - lo) * scale;
}

/** One independent phantom slice (random heart, scanner and noise), normalised to [0, 1]. */
export function phantomSlice(seed: number, size: number, name = `phantom_${seed}`): SliceSample {
  const rng = new SeededRng(seed);
  const heart = drawHeart(rng, size);
  const scanner = drawScanner(rng, size);
  const { image, label } = render(heart, scanner, size, rng);
  normaliseInPlace(image);
  return { name, height: size, width: size, image, label };
}

/**
 * A short-axis stack from base to apex: the LV narrows toward the apex, the RV disappears in the
 * apical third, the centre drifts a little; one scanner per volume, normalised per volume.
 */
export function phantomVolume(seed: number, size: number, depth: number, name = `phantom_volume_${seed}`): VolumeSample {
  const rng = new SeededRng(seed);
  const base = drawHeart(rng, size);
  const scanner = drawScanner(rng, size);
  const drift: [number, number] = [rng.uniform(-0.04, 0.04) * size, rng.uniform(-0.04, 0.04) * size];
  const image = new Float32Array(depth * size * size);
  const label = new Uint8Array(depth * size * size);
  for (let z = 0; z < depth; z++) {
    const t = depth > 1 ? z / (depth - 1) : 0;
    const heart: HeartShape = {
      ...base,
      centerRow: base.centerRow + drift[0] * t,
      centerCol: base.centerCol + drift[1] * t,
      lvRadius: base.lvRadius * (1 - 0.65 * t ** 1.5),
      rvScale: t < 0.7 ? base.rvScale * (1 - 0.5 * t) : 0,
    };
    const slice = render(heart, scanner, size, rng);
    image.set(slice.image, z * size * size);
    label.set(slice.label, z * size * size);
  }
  normaliseInPlace(image);
  return { name, depth, height: size, width: size, image, label };
}

export interface PhantomOptions {
  seed?: number;
  /** Slice side in pixels (default 256). */
  size?: number;
  trainSlices?: number;
  labeledSlices?: number;
  valVolumes?: number;
  volumeDepth?: number;
}

export class PhantomDataset implements SegDataset {
  readonly numClasses = 4;
  readonly trainSlices: readonly string[];
  readonly labeledIndices: readonly number[];
  readonly unlabeledIndices: readonly number[];
  readonly valVolumes: readonly string[];
  readonly seed: number;
  readonly size: number;
  readonly volumeDepth: number;
  private readonly slices = new Map<number, SliceSample>();
  private readonly volumes = new Map<string, VolumeSample>();

  constructor(opts: PhantomOptions = {}) {
    this.seed = opts.seed ?? 1337;
    this.size = opts.size ?? 256;
    this.volumeDepth = opts.volumeDepth ?? 10;
    const n = opts.trainSlices ?? 200;
    const labeled = opts.labeledSlices ?? Math.max(1, Math.round(n / 10));
    if (!(labeled >= 0 && labeled <= n)) throw new RangeError(`PhantomDataset: ${labeled} labeled slices requested of ${n}`);
    if (!(this.size >= 16)) throw new RangeError(`PhantomDataset: size must be ≥ 16, got ${this.size}`);
    this.trainSlices = Array.from({ length: n }, (_, i) => `phantom_slice_${String(i).padStart(4, '0')}`);
    this.labeledIndices = Array.from({ length: labeled }, (_, i) => i);
    this.unlabeledIndices = Array.from({ length: n - labeled }, (_, i) => labeled + i);
    this.valVolumes = Array.from({ length: opts.valVolumes ?? 4 }, (_, i) => `phantom_volume_${String(i).padStart(2, '0')}`);
  }

  getSlice(index: number): SliceSample {
    if (!Number.isInteger(index) || index < 0 || index >= this.trainSlices.length) {
      throw new RangeError(`PhantomDataset.getSlice: index ${index} outside 0..${this.trainSlices.length - 1}`);
    }
    let s = this.slices.get(index);
    if (!s) {
      s = phantomSlice(deriveSeed(this.seed, 0, index), this.size, this.trainSlices[index]);
      this.slices.set(index, s);
    }
    return s;
  }

  getVolume(name: string): VolumeSample {
    const index = this.valVolumes.indexOf(name);
    if (index < 0) throw new DataError(name, 'no such phantom volume', `Use one of ${this.valVolumes.join(', ')}`);
    let v = this.volumes.get(name);
    if (!v) {
      v = phantomVolume(deriveSeed(this.seed, 1, index), this.size, this.volumeDepth, name);
      this.volumes.set(name, v);
    }
    return v;
  }

  describe(): string {
    return (
      `phantom (seed ${this.seed}, ${this.size}×${this.size}): ${this.trainSlices.length} training slices, ` +
      `${this.labeledIndices.length} labeled, ${this.unlabeledIndices.length} unlabeled, ` +
      `${this.valVolumes.length} validation volumes of ${this.volumeDepth} slices`
    );
  }
}
