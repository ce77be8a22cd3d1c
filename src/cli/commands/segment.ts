// Segment your own files with a trained UNet: NIfTI volumes (.nii, .nii.gz), HDF5 files in the ACDC
// layout (`image` [D,H,W] or one [H,W] slice), PNG/TIFF images, or a folder of them. Each prediction
// is written in its input's format and geometry (NIfTI on the input's header, so it overlays in
// ITK-SNAP / 3D Slicer; HDF5 with `label` beside a copy of `image`; an indexed PNG for images), with
// an image | prediction overlay PNG (src/train/segment.ts does the work).
import { findSegmentInputs, init, loadUNet, planSegmentOutputs, ProgressBar, readUNetCheckpoint, segmentFiles } from '../../index.js';
import { FUNDUS_CHANNELS, UNET_SIZE } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

export const RESAMPLE_MODES = ['nearest', 'area'] as const;

export default defineCommand({
  name: 'segment',
  usage: 'node bench/segment.js --checkpoint FILE --input FILE|DIR --out DIR [options]',
  description: `
Runs a UNet checkpoint (a run's .safetensors or a BCP/SSL4MIS PyTorch .pth) on NIfTI volumes, HDF5 files in
the ACDC layout, PNG/TIFF images, or a folder of them, and writes each prediction in its input's format: NIfTI
on the input's own header (affine and spacing kept, uint8 labels), HDF5 with 'label' beside a copy of
'image', an indexed PNG (pixel value = class) for images; plus <name>_overlay.png. Every input, output
and the checkpoint are checked before the network runs.`,
  options: {
    checkpoint: { type: 'string', metavar: 'file', required: true, help: "UNet weights: .safetensors (a run's model_best) or a BCP/SSL4MIS PyTorch .pth" },
    input: { type: 'string', metavar: 'path', required: true, help: 'a .nii/.nii.gz volume, an .h5 file (ACDC layout), a .png/.tif image, or a folder of them' },
    out: { type: 'string', metavar: 'dir', required: true, help: 'folder for the predictions and overlays (not the input folder)' },
    size: { ...UNET_SIZE, default: 256, help: 'network input size the checkpoint was trained at' },
    classes: { type: 'number', integer: true, min: 2, metavar: 'n', help: "classes including background (default: the checkpoint's; given, it must agree)" },
    'largest-component': { type: 'boolean', default: false, help: 'keep only the largest 8-connected component of each class, per slice' },
    channel: { type: 'string', default: 'green', choices: FUNDUS_CHANNELS, help: 'colour images: the channel the network sees (as the fundus loader)' },
    resample: { type: 'string', default: 'nearest', choices: RESAMPLE_MODES, help: "'nearest' (BCP's protocol) or 'area' (train-fundus's: area/bilinear, 2-class checkpoints)" },
    overlays: { type: 'boolean', default: true, help: 'write <name>_overlay.png beside each prediction' },
  },
  async run(args) {
    // Everything is read and checked on the CPU before the GPU starts: every input, the outputs, the checkpoint.
    const { inputs, skipped } = await findSegmentInputs(args.input);
    planSegmentOutputs(inputs, args.out);
    const ckpt = readUNetCheckpoint(args.checkpoint);
    const { numClasses, features } = ckpt.config;
    if (args.classes !== undefined && args.classes !== numClasses) {
      throw new UsageError(`--classes ${args.classes}: ${args.checkpoint} is a UNet with ${numClasses} classes; drop --classes or use another checkpoint`);
    }
    if (args.resample === 'area' && numClasses !== 2) {
      throw new UsageError(`--resample area is the vessel protocol (2 classes); ${args.checkpoint} has ${numClasses}: use --resample nearest`);
    }

    await init();
    const model = loadUNet(ckpt);
    try {
      if (skipped.length) console.error(`skipped ${skipped.length} file(s) of other formats in ${args.input} (e.g. ${skipped[0]})`);
      console.error(`UNet [${features}] · ${numClasses} classes · ${inputs.length} input(s) · ${args.size}² · ${args.resample}${args['largest-component'] ? ' · largest component' : ''}`);
      const bar = new ProgressBar(
        inputs.reduce((n, i) => n + i.slices, 0),
        'segment ',
        0,
        10,
      );
      let done = 0;
      const results = await segmentFiles(
        model,
        inputs,
        args.out,
        { size: args.size, resample: args.resample, largestComponent: args['largest-component'], channel: args.channel, overlay: args.overlays },
        (n, input) => bar.update((done += n), { file: input.name }),
      );
      bar.done();
      for (const r of results) {
        const voxels = r.counts.reduce((a, b) => a + b, 0);
        const shares = r.counts.slice(1).map((c, k) => `${k + 1}: ${((100 * c) / voxels).toFixed(1)}%`).join(' ');
        console.log(`${r.input} → ${r.prediction}${r.overlay ? ` (+ ${r.overlay})` : ''} · ${shares}`);
      }
    } finally {
      model.dispose();
    }
  },
});
