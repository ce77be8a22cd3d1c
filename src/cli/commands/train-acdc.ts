// Train the UNet on ACDC (SSL4MIS HDF5 layout) or, when no dataset is given, on the embedded
// procedural cardiac phantom, with the method the options name (supervised, bcp, sra-seg).
import { AcdcDataset, findAcdcRoot, init, PhantomDataset, WithUnlabeled, type SegDataset } from '../../index.js';
import { LABELED_SPLIT, parseLabeledSplit, POSITIVE_INT, UNET_SIZE, defaultRunFolder } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';
import { checkMethodArgs, checkRun, METHOD_OPTIONS, trainWithMethod } from '../train-methods.js';

export default defineCommand({
  name: 'train-acdc',
  usage: 'node bench/train-acdc.js [--data DIR] [--method supervised|bcp|sra-seg] [options]',
  description: `
Trains the UNet on ACDC slices (--data, the SSL4MIS layout: train_slices.list, val.list, data/) or, without
--data, on the embedded procedural cardiac phantom (a demonstration, not ACDC). Every file the run needs is
checked before the run folder is created. The run folder holds config.json, log.jsonl, checkpoint.safetensors
(everything --resume needs, one atomic file), model_last/best.safetensors and curves.png (bcp/sra-seg: in
pretrain/ and selftrain/). An existing run is never overwritten: continue it with --resume.`,
  options: {
    data: { type: 'string', metavar: 'dir', help: 'ACDC directory in the SSL4MIS layout; without it: the embedded phantom' },
    unlabeled: { type: 'string', metavar: "real|dir", default: 'real', help: "bcp/sra-seg unlabeled pool: 'real' (the other training slices) or a folder of synthetic .h5/.png slices" },
    labeled: { ...LABELED_SPLIT, default: '7', help: "labeled patients (3 = '5%', 7 = '10%'), or N slices as 'Ns' (e.g. 136s)" },
    ...METHOD_OPTIONS,
    iterations: { ...POSITIVE_INT, help: 'supervised: training iterations; bcp/sra-seg: self-training iterations (default 30000 on ACDC, 200 on the phantom)' },
    'pre-iterations': { ...METHOD_OPTIONS['pre-iterations'], help: 'bcp/sra-seg pre-training iterations (default 10000 on ACDC, 100 on the phantom; 0 skips pre-training, with --init)' },
    batch: { ...METHOD_OPTIONS.batch, help: 'labeled slices per batch (default 12 on ACDC, 8 on the phantom; bcp/sra-seg: even)' },
    size: { ...UNET_SIZE, help: 'training image size, slices zoomed to size×size (nearest); default 256 on ACDC, 64 on the phantom' },
    'val-every': { ...POSITIVE_INT, help: 'iterations between validations (default 200 on ACDC, 50 on the phantom)' },
    'val-volumes': { ...POSITIVE_INT, help: 'validate on the first N volumes only (default: all)' },
  },
  check(args) {
    checkMethodArgs(args);
    if (args.unlabeled !== 'real' && args.method === 'supervised') {
      throw new UsageError(`--unlabeled ${args.unlabeled}: supervised training uses no unlabeled slices; add --method bcp or sra-seg, or drop --unlabeled`);
    }
  },
  async run(args) {
    const onPhantom = !args.data;
    const size = args.size ?? (onPhantom ? 64 : 256);
    let data: SegDataset = args.data
      ? await AcdcDataset.open({ root: args.data, labeled: parseLabeledSplit(args.labeled) })
      : new PhantomDataset({ seed: args.seed, size, trainSlices: 120, valVolumes: 4 });
    if (args.unlabeled !== 'real') data = await WithUnlabeled.open(data, args.unlabeled);
    const out = args.out ?? defaultRunFolder(`${args.method}-${onPhantom ? 'phantom' : 'acdc'}`);
    const run = {
      size,
      iterations: args.iterations ?? (onPhantom ? 200 : 30000),
      preIterations: args['pre-iterations'] ?? (onPhantom ? 100 : 10000),
      batch: args.batch ?? (onPhantom ? 8 : 12),
      valEvery: args['val-every'] ?? (onPhantom ? 50 : 200),
      valLimit: args['val-volumes'],
      out,
    };
    checkRun(data, args, run);
    if (onPhantom) {
      console.error('data: the embedded procedural cardiac phantom (no --data given): a demonstration, not ACDC.');
      const found = findAcdcRoot();
      if (found) console.error(`      ACDC is available at ${found}: pass --data ${found} to train on it.`);
    } else console.error(`data: ACDC at ${args.data}`);

    await init();
    const t0 = performance.now();
    const result = await trainWithMethod(data, args, run);
    const minutes = (performance.now() - t0) / 60000;
    console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
  },
});
