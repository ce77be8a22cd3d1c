// Train the UNet (2 classes: background, vessel) on a fundus set in the DRIVE or FIVES layout with
// the methods of train-acdc: supervised, bcp, sra-seg. Validation scores each held-back image on its
// own at native resolution inside the field of view (src/train/evaluate-fundus.ts).
import { evaluateFundus, findDriveRoot, FundusDataset, init } from '../../index.js';
import { FUNDUS_CHANNELS, FUNDUS_EVALUATE_ON, NON_NEGATIVE_INT, POSITIVE_INT, SEED, UNET_SIZE, defaultRunFolder } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';
import { checkMethodArgs, checkRun, METHOD_OPTIONS, trainWithMethod } from '../train-methods.js';

export default defineCommand({
  name: 'train-fundus',
  usage: 'node bench/train-fundus.js [--data DIR] [--method supervised|bcp|sra-seg] [options]',
  description: `
Trains the 2-class UNet on retinal vessels: DRIVE (training/{images,1st_manual,mask}) or FIVES
(train/{Original,Ground truth}); default $SRASEG_DRIVE, else ../shared/data/DRIVE. The first --labeled
training images are labeled, the last --validation ones validate, the rest form the unlabeled pool.
Every image the run reads is checked before the run folder is created.`,
  options: {
    data: { type: 'string', metavar: 'dir', help: 'fundus set in the DRIVE or FIVES layout (default $SRASEG_DRIVE, else ../shared/data/DRIVE)' },
    labeled: { ...POSITIVE_INT, default: 4, help: 'labeled training images (the first ones in numeric order; FIVES 5% = 28, 10% = 56)' },
    validation: { ...POSITIVE_INT, help: 'training images held back for validation, the last ones (default 4 on DRIVE, 80 on FIVES)' },
    unlabeled: { ...NON_NEGATIVE_INT, help: 'cap on the unlabeled pool (default: every other training image)' },
    'split-seed': { ...SEED, help: 'shuffle the training images with this seed before splitting (default: numeric order)' },
    'evaluate-on': { type: 'string', default: 'validation', choices: FUNDUS_EVALUATE_ON, help: "validate on held-back training images or on the test part" },
    channel: { type: 'string', default: 'green', choices: FUNDUS_CHANNELS, help: 'network input: the green channel or the luma' },
    size: { ...UNET_SIZE, default: 256, help: 'training size: images resized to size×size (area/bilinear), masks nearest' },
    ...METHOD_OPTIONS,
    iterations: { ...POSITIVE_INT, default: 300, help: 'supervised: training iterations; bcp/sra-seg: self-training iterations' },
    'pre-iterations': { ...METHOD_OPTIONS['pre-iterations'], default: 100 },
    batch: { ...METHOD_OPTIONS.batch, default: 4 },
    'largest-component': { type: 'boolean', default: false, help: 'keep only the largest connected vessel tree in pseudo-labels (the published filter; it drops disconnected vessels)' },
    'val-every': { ...POSITIVE_INT, default: 50, help: 'iterations between validations' },
    out: { type: 'string', metavar: 'dir', help: 'run folder (default runs/<method>-fundus-<time>)' },
  },
  check(args) {
    checkMethodArgs(args);
    if (args.validation !== undefined && args['evaluate-on'] === 'test') {
      throw new UsageError('--validation applies to --evaluate-on validation; with --evaluate-on test the whole test part validates');
    }
  },
  async run(args) {
    const root = args.data ?? findDriveRoot();
    if (!root) throw new UsageError('no fundus data: pass --data <DRIVE or FIVES folder> (or set SRASEG_DRIVE)');
    const data = FundusDataset.open({
      root,
      labeled: args.labeled,
      validation: args.validation,
      unlabeled: args.unlabeled,
      size: args.size,
      channel: args.channel,
      splitSeed: args['split-seed'],
      evaluateOn: args['evaluate-on'],
    });
    const out = args.out ?? defaultRunFolder(`${args.method}-fundus`);
    const run = {
      size: args.size,
      iterations: args.iterations,
      preIterations: args['pre-iterations'],
      batch: args.batch,
      valEvery: args['val-every'],
      out,
      validate: (model: Parameters<typeof evaluateFundus>[0], names: readonly string[]) => evaluateFundus(model, data, names),
    };
    checkRun(data, args, run);
    console.error(`data: ${data.describe()}`);

    await init();
    const t0 = performance.now();
    const result = await trainWithMethod(data, args, run);
    const minutes = (performance.now() - t0) / 60000;
    console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
  },
});
