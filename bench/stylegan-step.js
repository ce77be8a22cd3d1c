#!/usr/bin/env node
// One StyleGAN2-ADA training minibatch, timed per phase with a GPU sync between phases: Gmain
// (G forward + D forward + backward into G, Adam), Dmain (G forward without gradients, D on fakes and
// reals, backward, Adam), Dreg (lazy R1: D's input gradient with createGraph and its backward; runs
// every 16 minibatches, so a sixteenth of it counts per minibatch), and the G_ema update. With
// --augment p > 0, every D pass goes through the ADA pipeline at that fixed p.
// Images/s = batch / (per-minibatch time). bench/pytorch_stylegan_step.py times the same phases of the
// same architecture in PyTorch.
// Usage: node bench/stylegan-step.js [--resolution 64] [--batch 16] [--channel-base 4096] [--channel-max 64] [--steps 3]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  resolution: { type: 'number', default: 64, help: 'image side' },
  batch: { type: 'number', default: 16, help: 'minibatch' },
  'channel-base': { type: 'number', default: 4096, help: 'channels min(base / res, max)' },
  'channel-max': { type: 'number', default: 64, help: 'channel cap' },
  'z-dim': { type: 'number', default: 128, help: 'z and w size' },
  augment: { type: 'number', default: 0, help: 'fixed ADA p (0: no augmentation)' },
  steps: { type: 'number', default: 3, help: 'timed minibatches (median per phase), after one warm-up' },
}, 'usage: node bench/stylegan-step.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const R = args.resolution;
const B = args.batch;
const shared = { imgResolution: R, imgChannels: 1, channelBase: args['channel-base'], channelMax: args['channel-max'], convClamp: 256 };
const G = new E.StyleGAN2Generator({ ...shared, zDim: args['z-dim'], wDim: args['z-dim'], mappingLayers: 2, seed: 1 });
const G_ema = new E.StyleGAN2Generator({ ...shared, zDim: args['z-dim'], wDim: args['z-dim'], mappingLayers: 2, seed: 1 });
const D = new E.Discriminator({ ...shared, mbstdGroupSize: 4, mbstdChannels: 1, seed: 2 });
const count = (m) => m.parameters().reduce((s, p) => s + p.size, 0).toLocaleString('en');
console.log(`StyleGAN2 ${R}² · batch ${B} · G ${count(G)} · D ${count(D)} parameters · ADA p ${args.augment}`);
const augment = args.augment > 0 ? new E.AugmentPipe({ p: args.augment, seed: 3 }) : null;
const loss = new E.StyleGAN2Loss(G, D, augment, { ...E.GAN_LOSS_DEFAULTS, r1Gamma: (0.0002 * R * R) / B }, new E.Generator(4), new E.SeededRng(5));
const optG = new E.Adam(G.parameters(), { lr: 0.0025, betas: [0, 0.99] });
const optD = new E.Adam(D.parameters(), { lr: 0.0025, betas: [0, 0.99] });
const reals = E.keep(E.clamp(E.randn([B, 1, R, R]), -1, 1));
const freeze = (m, on) => m.parameters().forEach((p) => (p.requiresGrad = on));

const phases = {};
const time = async (name, fn) => {
  const t0 = performance.now();
  const logs = await fn();
  for (const t of Object.values(logs ?? {})) t.dispose();
  await E.sync();
  (phases[name] ??= []).push(performance.now() - t0);
};

for (let s = 0; s <= args.steps; s++) {
  await time('Gmain: G fwd, D fwd, backward, Adam', () => {
    freeze(D, false);
    optG.zeroGrad();
    const logs = loss.generatorMain(loss.latents(B));
    optG.step();
    freeze(D, true);
    return logs;
  });
  freeze(G, false);
  await time('Dmain: G fwd (no grad), D fwd ×2, backward, Adam', () => {
    optD.zeroGrad();
    const logs = E.tidy(() => loss.discriminatorMain(loss.latents(B), reals));
    optD.step();
    return logs;
  });
  await time('Dreg: R1 (double backward), Adam — every 16th', () => {
    optD.zeroGrad();
    const logs = loss.discriminatorR1(reals, 16);
    optD.step();
    return logs;
  });
  freeze(G, true);
  await time('G_ema update', () => E.updateEmaModel(G_ema, G, 0.99));
  if (s === 0) for (const k of Object.keys(phases)) phases[k] = []; // the first minibatch compiles
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let perBatch = 0;
for (const [k, xs] of Object.entries(phases)) {
  const share = k.startsWith('Dreg') ? 1 / 16 : 1;
  perBatch += median(xs) * share;
  console.log(`${k.padEnd(52)} ${median(xs).toFixed(0).padStart(8)} ms${share < 1 ? `  (÷16 → ${(median(xs) / 16).toFixed(0)} ms per minibatch)` : ''}`);
}
console.log(`${'per minibatch'.padEnd(52)} ${perBatch.toFixed(0).padStart(8)} ms · ${((B * 1000) / perBatch).toFixed(2)} images/s · peak pool memory ${(E.memoryStats().peakLiveBytes / 2 ** 20).toFixed(0)} MiB`);
await E.shutdown();
