// Evaluate a 2-class UNet checkpoint on fundus images (DRIVE or FIVES layout), each image on its own
// at native resolution: Dice, Jaccard, HD95, ASD (2D, pixels; medpy semantics) and the vessel
// literature's sensitivity, specificity, accuracy and AUC inside the field of view. Prints a table,
// writes results.json and Fig. 7-style overlays (image | prediction | ground truth | errors).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import {
  checkUNetConfig,
  evaluateFundus,
  findDriveRoot,
  FundusDataset,
  fundusOverlay,
  imageGrid,
  init,
  loadUNet,
  readUNetCheckpoint,
  savePrediction,
  splitValidation,
  writeFundusOverlay,
  writePng,
  type Image,
} from '../../index.js';
import { FUNDUS_CHANNELS, FUNDUS_EVALUATE_ON, NON_NEGATIVE_INT, POSITIVE_INT, SEED, UNET_SIZE, VAL_SPLIT } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

export default defineCommand({
  name: 'eval-fundus',
  usage: 'node bench/eval-fundus.js --checkpoint FILE [--data DIR] [options]',
  description: `
Scores a 2-class UNet checkpoint on fundus images, each on its own at native resolution inside the field of
view: Dice, Jaccard, HD95, ASD and sensitivity, specificity, accuracy, AUC. Writes results.json, one overlay
per image and fig7.png (the first --overlays images stacked); with --save-predictions each vessel mask as an
indexed PNG.`,
  options: {
    checkpoint: { type: 'string', metavar: 'file', required: true, help: 'UNet weights, 2 classes: .safetensors (PyTorch names) or a PyTorch .pth' },
    data: { type: 'string', metavar: 'dir', help: 'fundus set in the DRIVE or FIVES layout (default $SRASEG_DRIVE, else ../shared/data/DRIVE)' },
    'evaluate-on': { type: 'string', default: 'validation', choices: FUNDUS_EVALUATE_ON, help: 'held-back training images (as in training) or the test part' },
    validation: { ...POSITIVE_INT, help: 'held-back validation images, as in training (default 4 on DRIVE, 80 on FIVES)' },
    'val-split': {
      ...VAL_SPLIT,
      help: "score all validation images, or one half (alternate images by name): 'report' for a checkpoint chosen with train-fundus --val-split select, 'select' for the half that chose it",
    },
    'split-seed': { ...SEED, help: 'as in training' },
    channel: { type: 'string', default: 'green', choices: FUNDUS_CHANNELS, help: 'network input the checkpoint was trained on' },
    size: { ...UNET_SIZE, default: 256, help: 'network input size the checkpoint was trained at' },
    overlays: { ...NON_NEGATIVE_INT, default: 4, help: 'overlays for the first N images stacked into fig7.png' },
    'overlay-size': { ...POSITIVE_INT, default: 256, help: 'longer side of each overlay panel in pixels' },
    out: { type: 'string', metavar: 'dir', help: 'folder for results.json and overlays (default: eval/ beside the checkpoint)' },
    'save-predictions': { type: 'string', metavar: 'dir', help: 'also write each predicted vessel mask here as an indexed PNG (0 background, 1 vessel; white on black)' },
  },
  check(args) {
    if (args.validation !== undefined && args['evaluate-on'] === 'test') {
      throw new UsageError('--validation applies to --evaluate-on validation; with --evaluate-on test the whole test part is scored');
    }
    if (args['val-split'] !== 'all' && args['evaluate-on'] === 'test') {
      throw new UsageError(`--val-split ${args['val-split']} halves the held-back validation images; with --evaluate-on test the whole test part is scored: drop --val-split`);
    }
  },
  async run(args) {
    const ckpt = readUNetCheckpoint(args.checkpoint);
    const root = args.data ?? findDriveRoot();
    if (!root) throw new UsageError('no fundus data: pass --data <DRIVE or FIVES folder> (or set SRASEG_DRIVE)');
    const out = args.out ?? join(dirname(args.checkpoint), 'eval');
    const save = args['save-predictions'];
    if (save && !relative(resolve(root), resolve(save)).startsWith('..')) {
      throw new UsageError(`--save-predictions ${save}: inside the data folder ${root}, where a prediction could replace an image; choose a folder outside it`);
    }
    // The overlays are <out>/<image>.png too.
    if (save && resolve(save) === resolve(out)) throw new UsageError(`--save-predictions ${save}: the overlays are written there under the same names; choose another folder than --out`);
    const data = FundusDataset.open({
      root,
      labeled: 0, // the validation images do not depend on how many training images are labeled
      validation: args.validation,
      size: args.size,
      channel: args.channel,
      splitSeed: args['split-seed'],
      evaluateOn: args['evaluate-on'],
    });
    checkUNetConfig(ckpt, { numClasses: data.numClasses }, 'vessel segmentation');
    data.preflight();

    await init();
    const model = loadUNet(ckpt);
    try {
      mkdirSync(out, { recursive: true });
      const rows: Image[] = [];
      const result = await evaluateFundus(model, data, splitValidation(data.valVolumes, args['val-split']), {
        onImage: (vol, pred, r) => {
          if (rows.length < args.overlays) rows.push(fundusOverlay(vol, pred, r.scores[0].dice, args['overlay-size']));
          writeFundusOverlay(out, vol, pred, r.scores[0].dice, args['overlay-size']);
          if (save) savePrediction(save, vol.name, { format: 'png', width: vol.width, height: vol.height }, pred, data.numClasses);
        },
      });

      const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (100 * v).toFixed(2));
      const num = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(2));
      const header = ['image', 'Dice %', 'Jacc %', 'HD95', 'ASD', 'Sens %', 'Spec %', 'Acc %', 'AUC %'];
      console.log('\n' + header.map((h, i) => (i ? h.padStart(8) : h.padEnd(14))).join(' '));
      type Scores = { dice: number | null; jaccard: number | null; hd95: number | null; asd: number | null };
      type Pixel = { sensitivity: number | null; specificity: number | null; accuracy: number | null; auc: number | null };
      const line = (name: string, s: Scores, p: Pixel) =>
        console.log([name.padEnd(14), pct(s.dice), pct(s.jaccard), num(s.hd95), num(s.asd), pct(p.sensitivity), pct(p.specificity), pct(p.accuracy), pct(p.auc)].map((v, i) => (i ? v.padStart(8) : v)).join(' '));
      for (const r of result.volumes) line(r.name, r.scores[0], r.pixel);
      line('mean', result.report.literature, result.pixel);
      console.log(
        `\n${result.volumes.length} images · per-image 2D scores at native resolution · distances in pixels · pixel metrics inside the field of view` +
          ` · empty predictions: ${result.report.emptyPredictions}`,
      );
      writeFileSync(join(out, 'results.json'), JSON.stringify({ checkpoint: args.checkpoint, data: data.describe(), split: args['val-split'], summary: result.report, pixel: result.pixel, images: result.volumes }, null, 2));
      if (rows.length) writePng(join(out, 'fig7.png'), imageGrid(rows, { columns: 1, gap: 0 }));
      console.log(`results: ${join(out, 'results.json')} · overlays in ${out}${rows.length ? ' · fig7.png' : ''}${save ? ` · predictions in ${save}` : ''}`);
    } finally {
      model.dispose();
    }
  },
});
