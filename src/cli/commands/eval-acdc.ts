// Evaluate a UNet checkpoint on ACDC volumes with BCP's protocol: per volume, slices zoomed to the
// network's size (nearest), argmax, zoomed back, 3D Dice / Jaccard / HD95 / ASD per class (RV, Myo,
// LV), mean over volumes then classes. Prints the literature's convention (an empty prediction scores
// 0 for every metric) and an honest one beside it (undefined distances left out and counted).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  AcdcDataset,
  busiestSlice,
  evaluateVolumes,
  init,
  loadUNet,
  niftiTarget,
  ProgressBar,
  readAcdcNifti,
  readUNetCheckpoint,
  savePrediction,
  splitValidation,
  writeSliceOverlay,
  type PredictionTarget,
  type SegDataset,
  type VolumeSample,
} from '../../index.js';
import { NON_NEGATIVE_INT, UNET_SIZE, VAL_SPLIT } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

/** What the evaluation reads: volumes by name. */
type VolumeSource = Pick<SegDataset, 'numClasses' | 'valVolumes' | 'getVolume' | 'describe'>;

export default defineCommand({
  name: 'eval-acdc',
  usage: 'node bench/eval-acdc.js --checkpoint FILE --data DIR [--list val.list] [options]',
  description: `
Scores a UNet checkpoint on the volumes of one list with BCP's protocol (3D Dice, Jaccard, HD95, ASD per
class, mean over volumes then classes), printed in the literature's convention and an honest one beside it.
Only the listed volumes need to be present. Writes results.json and PNG overlays, and with --save-predictions
each predicted volume in its input's format.`,
  options: {
    checkpoint: { type: 'string', metavar: 'file', required: true, help: 'UNet weights: .safetensors (PyTorch names) or a BCP/SSL4MIS PyTorch .pth' },
    data: { type: 'string', metavar: 'dir', help: 'ACDC directory in the SSL4MIS layout (HDF5 volumes)' },
    list: { type: 'string', metavar: 'file', default: 'val.list', help: 'volume list relative to --data (e.g. val.list, test.list)' },
    'val-split': {
      ...VAL_SPLIT,
      help: "score all listed volumes, or one half by patient: 'report' for a checkpoint chosen with train --val-split select, 'select' for the half that chose it",
    },
    nifti: { type: 'string', metavar: 'files', help: 'instead of --data: the challenge NIfTI files, comma-separated patientXXX_frameYY.nii.gz (each with its _gt file)' },
    size: { ...UNET_SIZE, default: 256, help: 'network input size the checkpoint was trained at' },
    classes: { type: 'number', integer: true, min: 2, metavar: 'n', help: "classes including background (default: the checkpoint's)" },
    spacing: { type: 'boolean', default: false, help: "distances in mm from the files' voxel spacing (NIfTI only: SSL4MIS's HDF5 records none)" },
    overlays: { ...NON_NEGATIVE_INT, default: 4, help: 'write PNG overlays for the busiest slice of the first N volumes' },
    out: { type: 'string', metavar: 'dir', help: 'folder for results.json and overlays (default: eval/ beside the checkpoint)' },
    'save-predictions': {
      type: 'string',
      metavar: 'dir',
      help: "also write each predicted volume here in its input's format: HDF5 (image + label) for --data, NIfTI on the input's header for --nifti",
    },
  },
  check(args) {
    if (!args.data === !args.nifti) throw new UsageError('pass the volumes with --data DIR (HDF5, with --list) or with --nifti FILES, one of the two');
    if (args.spacing && args.data) {
      throw new UsageError("--spacing: SSL4MIS's HDF5 volumes record no voxel spacing; evaluate in voxel units, or give the challenge NIfTI files with --nifti");
    }
  },
  async run(args) {
    // Everything is read and checked on the CPU before the GPU starts or a file is written.
    const ckpt = readUNetCheckpoint(args.checkpoint);
    const { numClasses } = ckpt.config;
    if (args.classes !== undefined && args.classes !== numClasses) {
      throw new UsageError(`--classes ${args.classes}: ${args.checkpoint} is a UNet with ${numClasses} classes; drop --classes or use another checkpoint`);
    }
    const niftiFiles = args.nifti?.split(',');
    const save = args['save-predictions'];
    if (save) checkPredictionFolder(save, niftiFiles ? niftiFiles.map((f) => dirname(f)) : [join(args.data!, 'data'), join(args.data!, 'data', 'slices')]);
    let data: VolumeSource;
    if (niftiFiles) {
      data = niftiVolumes(niftiFiles, numClasses);
      if (save) checkDistinctNames(data);
    } else {
      const acdc = await AcdcDataset.open({ root: args.data!, volumeList: args.list });
      acdc.preflight();
      data = acdc;
    }
    if (data.numClasses !== numClasses) {
      throw new UsageError(`${args.checkpoint} is a UNet with ${numClasses} classes, the ACDC volumes have ${data.numClasses}: use an ACDC checkpoint`);
    }

    await init();
    const out = args.out ?? join(dirname(args.checkpoint), 'eval');
    const model = loadUNet(ckpt);
    try {
      mkdirSync(out, { recursive: true });
      const names = splitValidation(data.valVolumes, args['val-split']);
      const bar = new ProgressBar(names.length, 'eval ');
      let done = 0;
      const overlays: string[] = [];
      const result = await evaluateVolumes(model, data as SegDataset, names, args.size, {
        useSpacing: args.spacing,
        onVolume: (vol, pred, r) => {
          if (done < args.overlays) overlays.push(writeSliceOverlay(out, vol, pred, busiestSlice(vol), numClasses));
          // A NIfTI volume is named by its file (r.name): its prediction goes on that file's header.
          if (save) savePrediction(save, vol.name, niftiFiles ? niftiTarget(r.name) : hdf5Target(vol), pred, numClasses);
          bar.update(++done);
        },
      });
      bar.done();
      printReport(result.report, args.spacing);
      writeFileSync(join(out, 'results.json'), JSON.stringify({ checkpoint: args.checkpoint, list: args.list, split: args['val-split'], size: args.size, summary: result.report, volumes: result.volumes }, null, 2));
      console.log(`results: ${join(out, 'results.json')}${overlays.length ? ` · overlays: ${overlays.join(', ')}` : ''}${save ? ` · predictions in ${save}` : ''}`);
    } finally {
      model.dispose();
    }
  },
});

/** The evaluation needs only volumes: NIfTI files (min-max normalised, spacing from the header), read now. */
function niftiVolumes(files: string[], numClasses: number): VolumeSource {
  const volumes = new Map<string, VolumeSample>(files.map((f) => [f, readAcdcNifti(f, undefined, numClasses)]));
  return { numClasses, valVolumes: files, getVolume: (name) => volumes.get(name)!, describe: () => `${files.length} NIfTI volumes` };
}

/** --save-predictions must not be where the inputs are: a prediction would replace its volume. */
function checkPredictionFolder(dir: string, inputDirs: string[]): void {
  if (inputDirs.some((d) => resolve(d) === resolve(dir))) {
    throw new UsageError(`--save-predictions ${dir}: the input volumes are there and would be overwritten; choose another folder`);
  }
}

/** Predictions are named by their volume: NIfTI files of one name from different folders would collide. */
function checkDistinctNames(data: VolumeSource): void {
  const seen = new Map<string, string>();
  for (const file of data.valVolumes) {
    const name = data.getVolume(file).name;
    if (seen.has(name)) throw new UsageError(`--save-predictions: ${file} and ${seen.get(name)} would both be saved as ${name}; evaluate them in separate runs`);
    seen.set(name, file);
  }
}

/** An HDF5 volume's prediction: the ACDC layout, `image` copied beside the predicted `label`. */
function hdf5Target(vol: VolumeSample): PredictionTarget {
  return { format: 'hdf5', extension: '.h5', image: { shape: [vol.depth, vol.height, vol.width], data: vol.image } };
}

type Report = Awaited<ReturnType<typeof evaluateVolumes>>['report'];

function printReport(r: Report, mm: boolean): void {
  const fmt = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (v * 100).toFixed(2));
  console.log(`\n${'class'.padEnd(8)} ${'Dice %'.padStart(8)} ${'Jaccard %'.padStart(10)} ${'HD95'.padStart(8)} ${'ASD'.padStart(8)}   honest: ${'HD95'.padStart(8)} ${'ASD'.padStart(8)}  empty preds`);
  for (const c of [...r.classes, { name: 'mean', literature: r.literature, honest: r.honest, emptyPredictions: r.emptyPredictions }]) {
    const l = c.literature;
    const h = c.honest;
    console.log(
      `${c.name.padEnd(8)} ${pct(l.dice).padStart(8)} ${pct(l.jaccard).padStart(10)} ${fmt(l.hd95).padStart(8)} ${fmt(l.asd).padStart(8)}   ` +
        `        ${fmt(h.hd95).padStart(8)} ${fmt(h.asd).padStart(8)}  ${c.emptyPredictions}`,
    );
  }
  console.log(`\n${r.volumes} volumes · distances in ${mm ? 'mm' : 'voxels'} · ASD = mean distance from the prediction's surface to the ground truth's (medpy asd, as BCP)`);
}
