#!/usr/bin/env node
// Evaluate a 2-class UNet checkpoint on fundus images (DRIVE or FIVES layout), each image on its own
// at native resolution: Dice, Jaccard, HD95, ASD (2D, pixels; medpy semantics) and the vessel
// literature's sensitivity, specificity, accuracy and AUC inside the field of view. Prints a table,
// writes results.json and Fig. 7-style overlays (image | prediction | ground truth | errors).
// Usage: node bench/eval-fundus.js --checkpoint run/model_best.safetensors [--data DIR] [options]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const E = await import(new URL(`../${process.env.DIST ?? 'dist'}/index.js`, import.meta.url).href);

const usage = 'usage: node bench/eval-fundus.js --checkpoint FILE [--data DIR] [options]';
let args;
try {
  args = E.parseArgs(process.argv.slice(2), {
    checkpoint: { type: 'string', help: 'UNet weights, 2 classes: .safetensors (PyTorch names) or a PyTorch .pth' },
    data: { type: 'string', help: 'fundus set in the DRIVE or FIVES layout (default ../shared/data/DRIVE)' },
    'evaluate-on': { type: 'string', default: 'validation', help: "'validation' (held-back training images, as in training) or 'test' (the test part)" },
    validation: { type: 'number', help: 'held-back validation images, as in training (default 4 on DRIVE, 80 on FIVES)' },
    'split-seed': { type: 'number', help: 'as in training' },
    channel: { type: 'string', default: 'green', help: 'network input the checkpoint was trained on: green | gray' },
    size: { type: 'number', default: 256, help: 'network input size the checkpoint was trained at' },
    overlays: { type: 'number', default: 4, help: 'overlays for the first N images (also stacked into fig7.png)' },
    'overlay-size': { type: 'number', default: 256, help: 'longer side of each overlay panel in pixels' },
    out: { type: 'string', help: 'folder for results.json and overlays (default: beside the checkpoint)' },
    'save-predictions': { type: 'string', help: 'also write each predicted vessel mask to this folder as an indexed PNG (0 background, 1 vessel)' },
  }, usage);
  if (!args.checkpoint) throw new Error(`--checkpoint is required\n${usage}`);
  if (!['green', 'gray'].includes(args.channel)) throw new Error(`--channel ${args.channel}: unknown (green | gray)`);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

let data, checkpoint;
try {
  checkpoint = E.readUNetCheckpoint(args.checkpoint);
  if (checkpoint.config.numClasses !== 2) throw new Error(`${args.checkpoint}: a ${checkpoint.config.numClasses}-class UNet; vessel evaluation needs a 2-class checkpoint`);
  const root = args.data ?? E.findDriveRoot();
  if (!root) throw new Error('no fundus data: pass --data <DRIVE or FIVES folder>');
  const save = args['save-predictions'];
  if (save && !relative(resolve(root), resolve(save)).startsWith('..')) {
    throw new Error(`--save-predictions ${save}: inside the data folder ${root}, where a prediction could replace an image; choose a folder outside it`);
  }
  data = E.FundusDataset.open({
    root,
    labeled: 0, // the validation images do not depend on how many training images are labeled
    validation: args.validation,
    size: args.size,
    channel: args.channel,
    splitSeed: args['split-seed'],
    evaluateOn: args['evaluate-on'],
  });
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

await E.init();
const out = args.out ?? join(args.checkpoint, '..', 'eval');
mkdirSync(out, { recursive: true });
const model = E.loadUNet(checkpoint);

const rows = [];
const result = await E.evaluateFundus(model, data, data.valVolumes, {
  onImage: (vol, pred, r) => {
    if (rows.length < args.overlays) rows.push(E.fundusOverlay(vol, pred, r.scores[0].dice, args['overlay-size']));
    E.writeFundusOverlay(out, vol, pred, r.scores[0].dice, args['overlay-size']);
    if (args['save-predictions']) E.savePrediction(args['save-predictions'], vol.name, { format: 'png', width: vol.width, height: vol.height }, pred, 2);
  },
});

const pct = (v) => (v === null || v === undefined ? '–' : (100 * v).toFixed(2));
const num = (v) => (v === null || v === undefined ? '–' : v.toFixed(2));
const header = ['image', 'Dice %', 'Jacc %', 'HD95', 'ASD', 'Sens %', 'Spec %', 'Acc %', 'AUC %'];
console.log('\n' + header.map((h, i) => (i ? h.padStart(8) : h.padEnd(14))).join(' '));
const line = (name, s, p) => console.log([name.padEnd(14), pct(s.dice), pct(s.jaccard), num(s.hd95), num(s.asd), pct(p.sensitivity), pct(p.specificity), pct(p.accuracy), pct(p.auc)].map((v, i) => (i ? v.padStart(8) : v)).join(' '));
for (const r of result.volumes) line(r.name, r.scores[0], r.pixel);
line('mean', result.report.literature, result.pixel);
console.log(`\n${result.volumes.length} images · per-image 2D scores at native resolution · distances in pixels · pixel metrics inside the field of view` +
  ` · empty predictions: ${result.report.emptyPredictions}`);

writeFileSync(join(out, 'results.json'), JSON.stringify({ checkpoint: args.checkpoint, data: data.describe(), summary: result.report, pixel: result.pixel, images: result.volumes }, null, 2));
if (rows.length) E.writePng(join(out, 'fig7.png'), E.imageGrid(rows, { columns: 1, gap: 0 }));
console.log(`results: ${join(out, 'results.json')} · overlays in ${out}${rows.length ? ' · fig7.png' : ''}${args['save-predictions'] ? ` · predictions in ${args['save-predictions']}` : ''}`);
model.dispose();
await E.shutdown();
