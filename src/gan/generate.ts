// Synthetic slices from a trained generator, in the folder layout the SRA-Seg trainer reads for
// `--unlabeled <folder>` (src/data/synthetic.ts): one 8-bit grayscale PNG per seed, `seed0042.png`.
// Each image depends on its seed only (its own latent stream), so any subset can be regenerated.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { concat, Generator, noGrad, randn, type Tensor, tidy } from '../engine/index.js';
import type { StyleGAN2Generator } from '../models/stylegan2/generator.js';
import type { NoiseMode } from '../models/stylegan2/synthesis.js';
import { imageGrid, imagesFromNchw } from '../report/grid.js';
import { writePng } from '../report/png.js';

export interface GenerateOptions {
  seeds: readonly number[];
  out: string;
  /** ψ: 1 = no truncation; smaller trades diversity for typicality. */
  truncationPsi?: number;
  /** 'const' (published generate.py's default) or 'random'. */
  noiseMode?: NoiseMode;
  /** Images per forward pass. */
  batch?: number;
  onProgress?: (done: number) => void;
}

/** The latent of one seed: z ~ N(0, I) from that seed's own stream. */
export function latentForSeed(seed: number, zDim: number): Tensor {
  return randn([1, zDim], new Generator(seed));
}

/** Images [n, 1, R, R] in [−1, 1] for the seeds. */
export function synthesize(G: StyleGAN2Generator, seeds: readonly number[], opts: Pick<GenerateOptions, 'truncationPsi' | 'noiseMode'> = {}): Tensor {
  return noGrad(() =>
    tidy(() => {
      const z = concat(seeds.map((s) => latentForSeed(s, G.config.zDim)), 0);
      return G.forward(z, { truncationPsi: opts.truncationPsi ?? 1, noiseMode: opts.noiseMode ?? 'const', updateWAvg: false });
    }),
  );
}

/** [−1, 1] → 8-bit grey, rounded and clamped as published (x·127.5 + 128). */
export function toGrey8(values: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v * 127.5 + 128))));
}

/**
 * Writes `seedNNNN.png` for every seed into `out`, and a grid of the first 32 beside the folder
 * (`<out>-grid.png`: inside it the grid would be read as one more slice); returns the slice paths.
 */
export async function generateSlices(G: StyleGAN2Generator, opts: GenerateOptions): Promise<string[]> {
  if (G.config.imgChannels !== 1) {
    throw new Error(`the generator makes ${G.config.imgChannels}-channel images; synthetic slices are one-channel (train or pick a one-channel generator)`);
  }
  mkdirSync(opts.out, { recursive: true });
  const R = G.config.imgResolution;
  const batch = opts.batch ?? 16;
  const files: string[] = [];
  const gridValues: number[] = [];
  for (let i = 0; i < opts.seeds.length; i += batch) {
    const seeds = opts.seeds.slice(i, i + batch);
    const img = synthesize(G, seeds, opts);
    const values = (await img.data()) as Float32Array;
    img.dispose();
    seeds.forEach((seed, k) => {
      const grey = toGrey8(values.subarray(k * R * R, (k + 1) * R * R));
      const path = join(opts.out, `seed${String(seed).padStart(4, '0')}.png`);
      writePng(path, { width: R, height: R, channels: 1, data: grey });
      files.push(path);
    });
    if (gridValues.length < 32 * R * R) gridValues.push(...values.subarray(0, Math.min(values.length, 32 * R * R - gridValues.length)));
    opts.onProgress?.(Math.min(i + batch, opts.seeds.length));
  }
  const n = gridValues.length / (R * R);
  writePng(gridPathFor(opts.out), imageGrid(imagesFromNchw(gridValues, [n, 1, R, R], [-1, 1]), { columns: 8, scale: 2 }));
  return files;
}

export const gridPathFor = (out: string) => `${out.replace(/\/+$/, '')}-grid.png`;

/** '0-99', '1,5,7' or '0-9,20' → seeds. */
export function parseSeeds(spec: string): number[] {
  const seeds: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`--seeds '${spec}': expected ranges like 0-99 or lists like 1,5,7`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`--seeds '${part}': the range ends before it starts`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  return seeds;
}
