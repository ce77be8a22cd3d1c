// Synthetic slices from a trained StyleGAN2 generator, one PNG per seed, in the folder layout
// `train-acdc --unlabeled <folder>` reads.
import { generateSlices, generatorConfigFromPkl, gridPathFor, init, loadGenerator, loadStyleGanPkl, parseSeeds, pklGenerator, pklNetwork, ProgressBar, readGeneratorFile, readGeneratorKind } from '../../index.js';
import { POSITIVE_INT } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

export const NOISE_MODES = ['const', 'random', 'none'] as const;

/** The problem with a --seeds value (parseSeeds's message without its '--seeds …:' prefix), or null. */
function seedsProblem(spec: string): string | null {
  try {
    parseSeeds(spec);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^--seeds '[^']*':\s*/, '');
  }
}

export default defineCommand({
  name: 'generate',
  usage: 'node bench/generate.js --checkpoint G_ema.safetensors --count N [options]',
  description: `
Writes seedNNNN.png for every seed (each seed its own latent stream, so any subset can be regenerated) into
--out, and a grid of the first 32 beside the folder (<out>-grid.png).`,
  options: {
    checkpoint: { type: 'string', metavar: 'file', required: true, help: 'generator: <run>/G_ema.safetensors written by bench/train-stylegan.js, or an official StyleGAN2-ADA network-snapshot-*.pkl (its G_ema; the format is read from the bytes)' },
    count: { ...POSITIVE_INT, help: 'number of images (seeds 0..count−1)' },
    seeds: { type: 'string', metavar: 'list', check: seedsProblem, help: "explicit seeds instead of --count, e.g. '0-1175' or '3,7,11'" },
    trunc: { type: 'number', default: 1, help: 'truncation ψ (1 = none)' },
    noise: { type: 'string', default: 'const', choices: NOISE_MODES, help: "per-pixel noise: 'const' (reproducible, as published), 'random' or 'none'" },
    out: { type: 'string', metavar: 'dir', default: 'synthetic', help: 'output folder of seedNNNN.png' },
  },
  check(args) {
    if ((args.count === undefined) === (args.seeds === undefined)) throw new UsageError('pass --count N (seeds 0..N−1) or --seeds LIST, one of the two');
  },
  async run(args) {
    const seeds = args.seeds ? parseSeeds(args.seeds) : Array.from({ length: args.count! }, (_, i) => i);
    // Checked on the CPU before the GPU starts: this project's generator file or an official snapshot.
    const pkl = readGeneratorKind(args.checkpoint) === 'pkl' ? loadStyleGanPkl(args.checkpoint) : null;
    const config = pkl ? generatorConfigFromPkl(pklNetwork(pkl, 'G_ema'), `${args.checkpoint}: G_ema`) : readGeneratorFile(args.checkpoint).config;
    await init();
    const G = pkl ? pklGenerator(pkl) : loadGenerator(args.checkpoint);
    try {
      const R = config.imgResolution;
      console.error(`generator ${args.checkpoint}: ${R}×${R}, ψ = ${args.trunc}, noise ${args.noise} · ${seeds.length} images → ${args.out}/`);
      const bar = new ProgressBar(seeds.length, 'generate ');
      const t0 = performance.now();
      const files = await generateSlices(G, { seeds, out: args.out, truncationPsi: args.trunc, noiseMode: args.noise, onProgress: (n) => bar.update(n) });
      const s = (performance.now() - t0) / 1000;
      console.log(`wrote ${files.length} slices to ${args.out}/ (grid: ${gridPathFor(args.out)}) in ${s.toFixed(1)} s · ${(files.length / s).toFixed(1)} images/s`);
    } finally {
      G.dispose();
    }
  },
});
