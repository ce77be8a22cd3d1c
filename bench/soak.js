#!/usr/bin/env node
// Soak: K steps of each published configuration, run by the real trainers on whatever adapter is
// present, with the pool's live and peak bytes after every step — memory must stay flat from the
// second step on, or a 40k-iteration run would end in an out-of-memory error.
//   1. SRA-Seg self-training, 12 labeled + 12 unlabeled slices at 256², SA on a DINOv2 ViT-S/14-shaped
//      network at 224² (random weights: the memory does not depend on their values);
//   2. BCP self-training at the same shape;
//   3. StyleGAN2-ADA, a minibatch of 16 at 256² in the published 'auto' configuration (all four phases:
//      R1 and path length every step here, so that every step carries the largest graph).
// Data: ACDC when found (../shared/data/ACDC or SRASEG_ACDC), else the embedded phantom at 256².
//      On an adapter with 128 MiB bindings (llvmpipe, lavapipe) the minibatch must run in rounds:
//      --gan-batch-gpu 2.
// Usage: node bench/soak.js [--steps 5] [--only sraseg,bcp,stylegan] [--sa-mode MODE] [--gan-batch 16] [--gan-batch-gpu N] [--gan-resolution 256]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  steps: { type: 'number', integer: true, min: 2, default: 5, help: 'steps per configuration (memory compared from step 2 on)' },
  only: { type: 'string', default: 'sraseg,bcp,stylegan', help: 'comma-separated subset of sraseg, bcp, stylegan' },
  'sa-mode': { type: 'string', help: 'SA mode for the SRA-Seg soak (default: the trainer\'s default)' },
  'gan-batch': { type: 'number', integer: true, min: 2, default: 16, help: "StyleGAN2 minibatch (the published 'auto' at 256²: 16)" },
  'gan-batch-gpu': { type: 'number', integer: true, min: 1, help: 'StyleGAN2 images per pass: the minibatch in rounds (published batch_gpu; 2 fits 256² in 128 MiB bindings) (default: the whole minibatch)' },
  'gan-resolution': { type: 'number', integer: true, min: 16, default: 256, help: 'StyleGAN2 resolution (256: the published shape)' },
}, 'usage: node bench/soak.js [options]');
const only = new Set(args.only.split(','));
const ganRounds = E.checkBatchGpu(args['gan-batch'], args['gan-batch-gpu'], E.STYLEGAN_TRAIN_DEFAULTS.mbstdGroupSize);
if (ganRounds) {
  console.error(`soak: --gan-batch-gpu ${args['gan-batch-gpu']}: ${ganRounds}`);
  process.exit(2);
}
const K = args.steps;

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend}) · ${K} steps per configuration`);
const root = mkdtempSync(join(tmpdir(), 'sraseg-soak-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true })); // also when a configuration fails
const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const results = [];

/** The memory columns of a run's log rows, printed as a table; flat = equal from the second row on. */
function report(name, logPath, key = 'iteration') {
  const rows = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.liveBytes !== undefined);
  console.log(`\n${name}`);
  console.log('  step  live buffers     live bytes     peak bytes');
  for (const r of rows) console.log(`  ${String(r[key]).padStart(4)}  ${String(r.liveBuffers).padStart(12)}  ${MiB(r.liveBytes).padStart(13)}  ${MiB(r.peakBytes).padStart(13)}`);
  const steady = rows.slice(1);
  const flat = steady.every((r) => r.liveBytes === steady[0].liveBytes && r.liveBuffers === steady[0].liveBuffers);
  console.log(`  ${flat ? 'flat' : 'NOT FLAT'} from step ${rows[1]?.[key]} to ${rows.at(-1)?.[key]} · peak ${MiB(Math.max(...rows.map((r) => r.peakBytes)))}`);
  results.push({ name, flat, peak: Math.max(...rows.map((r) => r.peakBytes)) });
}

const acdc = E.findAcdcRoot();
const data = acdc
  ? await E.AcdcDataset.open({ root: acdc, labeled: { patients: 7 } })
  : new E.PhantomDataset({ seed: 1, size: 256, trainSlices: 48, labeledSlices: 24, valVolumes: 1 });
console.log(`data: ${acdc ? `ACDC at ${acdc} (7 labeled patients)` : 'the embedded phantom at 256² (no ACDC found)'}`);

const semi = (method, out, extra = {}) => ({
  method,
  out,
  resume: false,
  seed: 1337,
  size: 256,
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 1e-4,
  preIterations: 0,
  selfIterations: K,
  labeledBatch: 12,
  unlabeledBatch: 12,
  valEvery: 1e9,
  valLimit: 1,
  logEvery: 1,
  emaAlpha: 0.99,
  teacherMode: 'train',
  largestComponent: true,
  softMix: method === 'sra-seg',
  softLoss: method === 'sra-seg',
  blend: 'avgpool3',
  zeroPad: false,
  sa: false,
  ...extra,
});

if (only.has('sraseg')) {
  const vitPath = join(root, 'dinov2-vits14-random.safetensors');
  await E.tidy(async () => {
    const vit = new E.Dinov2(E.DINOV2_CONFIGS.vits14);
    await E.saveModule(vitPath, vit);
    vit.dispose();
  });
  const out = join(root, 'sraseg');
  const saMode = args['sa-mode'];
  await E.trainSemiSupervised(data, semi('sra-seg', out, { sa: true, dinov2: vitPath, vitSize: 224, ...(saMode ? { saMode } : {}) }));
  report(`SRA-Seg self-training, 12 + 12 × 256², SA ${saMode ?? '(default mode)'} on ViT-S/14 at 224²`, join(out, 'selftrain', 'log.jsonl'));
}

if (only.has('bcp')) {
  const out = join(root, 'bcp');
  await E.trainSemiSupervised(data, semi('bcp', out));
  report('BCP self-training, 12 + 12 × 256²', join(out, 'selftrain', 'log.jsonl'));
}

if (only.has('stylegan')) {
  const R = args['gan-resolution'];
  const reals = E.RealImageSet.fromDataset(data, R, 0);
  const out = join(root, 'stylegan');
  const D = E.STYLEGAN_TRAIN_DEFAULTS;
  const mb = args['gan-batch'];
  await E.trainStyleGAN(reals, {
    ...D,
    out,
    resume: false,
    batch: mb,
    batchGpu: args['gan-batch-gpu'],
    kimg: (mb * K) / 1000,
    plWeight: 2, // the published StyleGAN2Loss weight ('auto' keeps it): all four phases run
    r1Gamma: (0.0002 * R * R) / mb, // the published auto formulas
    emaKimg: (mb * 10) / 32,
    r1Interval: 1,
    plInterval: 1,
    snapshotKimg: 1e9,
    gridImages: mb,
    logEvery: 1,
  });
  const rounds = args['gan-batch-gpu'] ? ` in rounds of ${args['gan-batch-gpu']}` : '';
  report(`StyleGAN2-ADA 'auto' at ${R}², minibatch of ${mb}${rounds} (R1 and path length every step)`, join(out, 'log.jsonl'), 'step');
}

console.log(`\nsummary: ${results.map((r) => `${r.name.split(',')[0]}: ${r.flat ? 'flat' : 'NOT FLAT'}, peak ${MiB(r.peak)}`).join(' · ')}`);
await E.shutdown();
process.exitCode = results.every((r) => r.flat) ? 0 : 1;
