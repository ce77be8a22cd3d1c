#!/usr/bin/env node
// Synthetic slices from a trained StyleGAN2 generator, for `train-acdc.js --unlabeled <folder>`.
// Usage: node bench/generate.js --checkpoint runs/<run>/G_ema.safetensors --count 1176 [--seeds 0-1175]
//        [--trunc 1] [--out synthetic/acdc-7p]
//        (--checkpoint network-snapshot-NNNNNN.pkl: an official StyleGAN2-ADA snapshot's G_ema)
import * as E from '../dist/index.js';

const args = E.parseArgs(
  process.argv.slice(2),
  {
    checkpoint: { type: 'string', help: 'generator: <run>/G_ema.safetensors of bench/train-stylegan.js, or an official StyleGAN2-ADA network-snapshot-*.pkl (its G_ema)' },
    count: { type: 'number', help: 'number of images (seeds 0..count−1 unless --seeds is given)' },
    seeds: { type: 'string', help: "explicit seeds, e.g. '0-1175' or '3,7,11'" },
    trunc: { type: 'number', default: 1, help: 'truncation ψ (1 = none)' },
    noise: { type: 'string', default: 'const', help: "per-pixel noise: 'const' (reproducible, as published) | 'random' | 'none'" },
    out: { type: 'string', default: 'synthetic', help: 'output folder of seedNNNN.png (a grid of the first 32 is written beside it, <out>-grid.png)' },
  },
  'usage: node bench/generate.js --checkpoint G_ema.safetensors --count N [options]',
);
if (!args.checkpoint || (args.count === undefined && !args.seeds)) {
  console.error('generate: pass --checkpoint <G_ema.safetensors> and --count N (or --seeds)');
  process.exit(2);
}
let seeds;
try {
  seeds = args.seeds ? E.parseSeeds(args.seeds) : Array.from({ length: args.count }, (_, i) => i);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
await E.init();
let G;
try {
  G = E.loadGenerator(args.checkpoint);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
const R = G.config.imgResolution;
console.error(`generator ${args.checkpoint}: ${R}×${R}, ψ = ${args.trunc}, noise ${args.noise} · ${seeds.length} images → ${args.out}/`);
const bar = new E.ProgressBar(seeds.length, 'generate ');
const t0 = performance.now();
const files = await E.generateSlices(G, { seeds, out: args.out, truncationPsi: args.trunc, noiseMode: args.noise, onProgress: (n) => bar.update(n) });
const s = (performance.now() - t0) / 1000;
console.log(`wrote ${files.length} slices to ${args.out}/ (grid: ${E.gridPathFor(args.out)}) in ${s.toFixed(1)} s · ${(files.length / s).toFixed(1)} images/s`);
G.dispose();
await E.shutdown();
