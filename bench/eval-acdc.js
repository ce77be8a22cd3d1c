#!/usr/bin/env node
// Evaluate a UNet checkpoint on ACDC volumes with BCP's protocol: per volume, slices zoomed to the
// network's size (nearest), argmax, zoomed back, 3D Dice / Jaccard / HD95 / ASD per class (RV, Myo,
// LV), mean over volumes then classes. Prints the literature's convention (an empty prediction scores
// 0 for every metric) and an honest one beside it (undefined distances left out and counted).
// Usage: node bench/eval-acdc.js --checkpoint run/model_best.safetensors --data DIR [--list val.list]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as E from '../dist/index.js';

const usage = 'usage: node bench/eval-acdc.js --checkpoint FILE --data DIR [--list FILE] [options]';
let args;
try {
  args = E.parseArgs(process.argv.slice(2), {
    checkpoint: { type: 'string', help: 'UNet weights: .safetensors (PyTorch names) or a BCP/SSL4MIS PyTorch .pth' },
    data: { type: 'string', help: 'ACDC directory in the SSL4MIS layout (HDF5 volumes)' },
    list: { type: 'string', default: 'val.list', help: 'volume list relative to --data (e.g. val.list, test.list)' },
    nifti: { type: 'string', help: 'instead of --data: the challenge NIfTI files, as a comma-separated list of patientXXX_frameYY.nii.gz (each with its _gt file)' },
    size: { type: 'number', default: 256, help: 'network input size the checkpoint was trained at' },
    classes: { type: 'number', default: 4, help: 'number of classes including background' },
    spacing: { type: 'boolean', default: false, help: 'distances in mm from the files’ voxel spacing (HDF5 has none: error)' },
    overlays: { type: 'number', default: 4, help: 'write PNG overlays for the busiest slice of the first N volumes' },
    out: { type: 'string', help: 'folder for results.json and overlays (default: beside the checkpoint)' },
    'save-predictions': { type: 'string', help: 'also write each predicted volume to this folder, in its input\'s format (HDF5 with image + label, or NIfTI on the input\'s header)' },
  }, usage);
  if (!args.checkpoint || !(args.data || args.nifti)) throw new Error(`--checkpoint and --data (or --nifti) are required\n${usage}`);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

let checkpoint;
try {
  checkpoint = E.readUNetCheckpoint(args.checkpoint);
  const inputDirs = args.nifti ? args.nifti.split(',').map((f) => dirname(f)) : [join(args.data, 'data'), join(args.data, 'data', 'slices')];
  if (args['save-predictions'] && inputDirs.some((d) => resolve(d) === resolve(args['save-predictions']))) {
    throw new Error(`--save-predictions ${args['save-predictions']}: the input volumes are there and would be overwritten; choose another folder`);
  }
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

await E.init();
const out = args.out ?? join(args.checkpoint, '..', 'eval');
mkdirSync(out, { recursive: true });
let data;
let model;
try {
  data = args.nifti ? niftiVolumes(args.nifti.split(','), args.classes) : await E.AcdcDataset.open({ root: args.data, labeled: { slices: 0 }, volumeList: args.list });
  if (args.spacing && !data.getVolume(data.valVolumes[0]).spacing) {
    throw new Error(`--spacing: these volumes record no voxel spacing (SSL4MIS's HDF5 files do not); evaluate in voxel units, or give the challenge NIfTI files with --nifti`);
  }
  model = E.loadUNet(checkpoint, { numClasses: args.classes });
} catch (e) {
  console.error(e.message);
  await E.shutdown();
  process.exit(2);
}
/** The evaluation needs only volumes: NIfTI files (min-max normalised, spacing from the header). */
function niftiVolumes(files, numClasses) {
  const volumes = new Map(files.map((f) => [f, E.readAcdcNifti(f, undefined, numClasses)]));
  return { numClasses, valVolumes: files, getVolume: (name) => volumes.get(name), describe: () => `${files.length} NIfTI volumes` };
}

const bar = new E.ProgressBar(data.valVolumes.length, 'eval ');
let done = 0;
const overlays = [];
const result = await E.evaluateVolumes(model, data, [...data.valVolumes], args.size, {
  useSpacing: args.spacing,
  onVolume: (vol, pred, r) => {
    if (done < args.overlays) overlays.push(E.writeSliceOverlay(out, vol, pred, E.busiestSlice(vol), args.classes));
    if (args['save-predictions']) {
      // NIfTI volumes are named by their file (r.name): the prediction goes on that file's header.
      const target = args.nifti ? E.niftiTarget(r.name) : { format: 'hdf5', extension: '.h5', image: { shape: [vol.depth, vol.height, vol.width], data: vol.image } };
      E.savePrediction(args['save-predictions'], vol.name, target, pred, args.classes);
    }
    bar.update(++done);
  },
});
bar.done();

const r = result.report;
const fmt = (v, digits = 2) => (v === null || v === undefined ? '–' : v.toFixed(digits));
console.log(`\n${'class'.padEnd(8)} ${'Dice %'.padStart(8)} ${'Jaccard %'.padStart(10)} ${'HD95'.padStart(8)} ${'ASD'.padStart(8)}   honest: ${'HD95'.padStart(8)} ${'ASD'.padStart(8)}  empty preds`);
for (const c of [...r.classes, { name: 'mean', literature: r.literature, honest: r.honest, emptyPredictions: r.emptyPredictions }]) {
  const l = c.literature;
  const h = c.honest;
  console.log(
    `${c.name.padEnd(8)} ${fmt(l.dice * 100).padStart(8)} ${fmt(l.jaccard * 100).padStart(10)} ${fmt(l.hd95).padStart(8)} ${fmt(l.asd).padStart(8)}   ` +
      `        ${fmt(h.hd95).padStart(8)} ${fmt(h.asd).padStart(8)}  ${c.emptyPredictions}`,
  );
}
console.log(`\n${r.volumes} volumes · distances in ${args.spacing ? 'mm' : 'voxels'} · ASD = mean distance from the prediction's surface to the ground truth's (medpy asd, as BCP)`);
writeFileSync(join(out, 'results.json'), JSON.stringify({ checkpoint: args.checkpoint, list: args.list, size: args.size, summary: r, volumes: result.volumes }, null, 2));
console.log(`results: ${join(out, 'results.json')}${overlays.length ? ` · overlays: ${overlays.join(', ')}` : ''}${args['save-predictions'] ? ` · predictions in ${args['save-predictions']}` : ''}`);
model.dispose();
await E.shutdown();
