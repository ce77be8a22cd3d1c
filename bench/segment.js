#!/usr/bin/env node
// Segment your own files with a trained UNet: NIfTI volumes (.nii, .nii.gz), HDF5 files in the ACDC
// layout (`image` [D,H,W] or one [H,W] slice), PNG/TIFF images, or a folder of them. Each prediction
// is written in its input's format and geometry (NIfTI on the input's header, so it overlays in
// ITK-SNAP / 3D Slicer; HDF5 with `label` beside a copy of `image`; an indexed PNG for images), with
// an image | prediction overlay PNG. Checkpoints: our .safetensors or BCP/SSL4MIS PyTorch .pth.
// Usage: node bench/segment.js --checkpoint FILE --input FILE|DIR --out DIR [options]
const E = await import(new URL(`../${process.env.DIST ?? 'dist'}/index.js`, import.meta.url).href);

const usage = 'usage: node bench/segment.js --checkpoint FILE --input FILE|DIR --out DIR [options]';
const fail = (message) => {
  console.error(message);
  process.exit(2);
};

// Everything is checked before the network runs: options, every input file, the outputs, the checkpoint.
let args, inputs, skipped, checkpoint;
try {
  args = E.parseArgs(process.argv.slice(2), {
    checkpoint: { type: 'string', help: 'UNet weights: .safetensors (a run\'s model_best) or a BCP/SSL4MIS PyTorch .pth' },
    input: { type: 'string', help: 'a .nii/.nii.gz volume, an .h5 file (ACDC layout), a .png/.tif image, or a folder of them' },
    out: { type: 'string', help: 'folder for the predictions and overlays (not the input folder)' },
    size: { type: 'number', default: 256, help: 'network input size the checkpoint was trained at (a multiple of 16)' },
    classes: { type: 'number', help: 'classes including background (read from the checkpoint; given, it must agree)' },
    'largest-component': { type: 'boolean', default: false, help: 'keep only the largest 8-connected component of each class, per slice' },
    channel: { type: 'string', default: 'green', help: 'colour images: the channel the network sees, green | gray (as the fundus loader)' },
    resample: { type: 'string', default: 'nearest', help: "'nearest' (BCP's protocol) or 'area' (train-fundus.js's: area/bilinear, 2-class checkpoints)" },
    overlays: { type: 'boolean', default: true, help: 'write <name>_overlay.png beside each prediction' },
  }, usage);
  if (!args.checkpoint || !args.input || !args.out) throw new Error(`--checkpoint, --input and --out are required\n${usage}`);
  if (!(Number.isInteger(args.size) && args.size >= 16 && args.size % 16 === 0)) throw new Error(`--size ${args.size}: must be a positive multiple of 16 (the UNet pools four times)`);
  if (!['green', 'gray'].includes(args.channel)) throw new Error(`--channel ${args.channel}: unknown (green | gray)`);
  if (!['nearest', 'area'].includes(args.resample)) throw new Error(`--resample ${args.resample}: unknown (nearest | area)`);
  if (args.classes !== undefined && !(Number.isInteger(args.classes) && args.classes >= 2)) throw new Error(`--classes ${args.classes}: must be an integer ≥ 2`);
  ({ inputs, skipped } = await E.findSegmentInputs(args.input));
  E.planSegmentOutputs(inputs, args.out);
  checkpoint = E.readUNetCheckpoint(args.checkpoint);
  const classes = checkpoint.config.numClasses;
  if (args.classes !== undefined && args.classes !== classes) throw new Error(`${args.checkpoint}: the UNet has ${classes} output classes, --classes says ${args.classes}`);
  if (args.resample === 'area' && classes !== 2) throw new Error(`--resample area is the vessel protocol (2 classes); ${args.checkpoint} has ${classes}. Use --resample nearest`);
} catch (e) {
  fail(e.message);
}

await E.init();
let model;
try {
  model = E.loadUNet(checkpoint);
} catch (e) {
  await E.shutdown();
  fail(e.message);
}
// From here on an error is not the user's input (that was checked): one line, SRASEG_DEBUG=1 for the stack.
process.on('uncaughtException', (e) => {
  console.error(process.env.SRASEG_DEBUG ? e : `error: ${e.message}`);
  process.exit(1);
});

if (skipped.length) console.error(`skipped ${skipped.length} file(s) of other formats in ${args.input} (e.g. ${skipped[0]})`);
const { features, numClasses } = model.config;
console.error(`UNet [${features}] · ${numClasses} classes · ${inputs.length} input(s) · ${args.size}² · ${args.resample}${args['largest-component'] ? ' · largest component' : ''}`);
const total = inputs.reduce((n, i) => n + i.slices, 0);
const bar = new E.ProgressBar(total, 'segment ', 0, 10);
let done = 0;
const results = await E.segmentFiles(model, inputs, args.out, {
  size: args.size,
  resample: args.resample,
  largestComponent: args['largest-component'],
  channel: args.channel,
  overlay: args.overlays,
}, (n, input) => bar.update((done += n), { file: input.name }));
bar.done();
for (const r of results) {
  const voxels = r.counts.reduce((a, b) => a + b, 0);
  const fg = r.counts.slice(1).map((c, k) => `${k + 1}: ${((100 * c) / voxels).toFixed(1)}%`).join(' ');
  console.log(`${r.input} → ${r.prediction}${r.overlay ? ` (+ ${r.overlay})` : ''} · ${fg}`);
}
model.dispose();
await E.shutdown();
