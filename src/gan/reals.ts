// The real images a StyleGAN2 is trained on: the labeled slices of a split (the paper trains the
// generator on the 5 % / 10 % labeled data only), resampled to the generator's square resolution with
// area averaging (antialiased, unlike the nearest zoom of the segmentation pipeline) and mapped to
// [−1, 1] as the published dataset loader does. Kept on the host: a few hundred 64² or 128²
// slices are a few MiB, and each minibatch is one upload.
import type { SegDataset } from '../data/dataset.js';
import { resizeFiltered } from '../data/resample.js';
import { SeededRng, type RngState } from '../data/rng.js';
import { tensor, type Tensor } from '../engine/index.js';

export interface RealImageSetState {
  rng: RngState;
  order: number[];
  cursor: number;
}

/** Square single-channel images in [−1, 1], drawn in shuffled epochs (optionally x-flipped, `mirror`). */
export class RealImageSet {
  readonly count: number;
  private rng: SeededRng;
  private order: number[] = [];
  private cursor = 0;

  constructor(
    /** [count · R · R] row-major, in [−1, 1]. */
    readonly pixels: Float32Array,
    readonly resolution: number,
    readonly names: readonly string[],
    seed: number,
    readonly mirror = false,
  ) {
    this.count = names.length;
    if (pixels.length !== this.count * resolution * resolution) throw new Error(`RealImageSet: ${pixels.length} values for ${this.count} images of ${resolution}²`);
    if (!this.count) throw new Error('RealImageSet: no images to train on');
    this.rng = new SeededRng(seed);
  }

  /** The labeled slices of `data` (or the given indices), resampled to `resolution`². */
  static fromDataset(data: SegDataset, resolution: number, seed: number, opts: { indices?: readonly number[]; mirror?: boolean } = {}): RealImageSet {
    const indices = opts.indices ?? data.labeledIndices;
    const R = resolution;
    const pixels = new Float32Array(indices.length * R * R);
    indices.forEach((index, k) => {
      const s = data.getSlice(index);
      const img = resizeFiltered(s.image, s.height, s.width, R, R);
      for (let i = 0; i < img.length; i++) pixels[k * R * R + i] = img[i] * 2 - 1;
    });
    return new RealImageSet(pixels, R, indices.map((i) => data.trainSlices[i]), seed, opts.mirror);
  }

  /** The next `n` images as a tensor [n, 1, R, R] (a reshuffle at each epoch's end). */
  next(n: number): Tensor {
    const R2 = this.resolution ** 2;
    const batch = new Float32Array(n * R2);
    for (let k = 0; k < n; k++) {
      if (this.cursor >= this.order.length) {
        this.order = this.rng.permutation(this.mirror ? 2 * this.count : this.count);
        this.cursor = 0;
      }
      const item = this.order[this.cursor++];
      this.copyImage(item % this.count, item >= this.count, batch.subarray(k * R2, (k + 1) * R2));
    }
    return tensor(batch, [n, 1, this.resolution, this.resolution]);
  }

  /** Images from..to−1 (in order, clipped to the set) as [n, 1, R, R], for metrics and snapshots. */
  slice(from: number, to: number): Tensor {
    const [a, b] = [Math.min(from, this.count), Math.min(to, this.count)];
    const R2 = this.resolution ** 2;
    return tensor(this.pixels.slice(a * R2, b * R2), [b - a, 1, this.resolution, this.resolution]);
  }

  private copyImage(index: number, flip: boolean, dst: Float32Array): void {
    const R = this.resolution;
    const src = this.pixels.subarray(index * R * R, (index + 1) * R * R);
    if (!flip) dst.set(src);
    else for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) dst[y * R + x] = src[y * R + (R - 1 - x)];
  }

  state(): RealImageSetState {
    return { rng: this.rng.state(), order: [...this.order], cursor: this.cursor };
  }

  setState(s: RealImageSetState): void {
    this.rng = SeededRng.fromState(s.rng);
    this.order = [...s.order];
    this.cursor = s.cursor;
  }
}
