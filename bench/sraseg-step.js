#!/usr/bin/env node
// The trainer's own SRA-Seg self-training step (E.SelfTrainStep, what src/sraseg/train.ts runs) at the
// published shape (12 labeled + 12 unlabeled slices, 256²), timed phase by phase with a GPU sync
// between phases: mask; teacher forward + pseudo-labels (incl. the largest-component filter on the
// CPU); the two mixed student forwards + soft loss; the SA forward (frozen DINOv2); backward of the
// total + SGD; EMA. The SA's backward is inside "backward + SGD": compare with --sa none. The ViT has
// random weights of the chosen DINOv2 shape (--dinov2 loads real ones): the time does not depend on
// the weight values, and no checkpoint is needed to measure it. Each phase is the mean over the timed
// steps (iterations 1..steps after a warm-up at 0), so with --sa-every k and --steps k the SA phase
// is amortised as in training.
// Usage: node bench/sraseg-step.js [--labeled 12] [--unlabeled 12] [--size 256] [--steps 3]
//        [--sa prediction|features|published|none] [--sa-input mixed|unlabeled] [--vit-size 224]
//        [--sa-every 1] [--sa-subset 0] [--vit vits14|vitb14] [--dinov2 FILE] [--soft-loss-form published|paper]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  labeled: { type: 'number', default: 12, help: 'labeled slices (halves a, b)' },
  unlabeled: { type: 'number', default: 12, help: 'unlabeled slices (halves a, b)' },
  size: { type: 'number', default: 256, help: 'image side' },
  steps: { type: 'number', default: 3, help: 'timed steps (mean per phase)' },
  sa: { type: 'string', default: 'prediction', help: 'SA mode timed: prediction | features | published | none' },
  'sa-input': { type: 'string', default: 'mixed', help: "SA's synthetic side: mixed | unlabeled" },
  'sa-every': { type: 'number', default: 1, help: 'SA on every k-th iteration' },
  'sa-subset': { type: 'number', default: 0, help: 'SA on at most n synthetic and n real images (0: all)' },
  'soft-loss-form': { type: 'string', default: 'published', help: 'published | paper' },
  vit: { type: 'string', default: 'vits14', help: 'DINOv2 shape when no --dinov2 is given (random weights)' },
  dinov2: { type: 'string', help: 'real DINOv2 weights (.pth or .safetensors) instead of a random ViT' },
  'vit-size': { type: 'number', default: 224, help: 'side the ViT sees' },
}, 'usage: node bench/sraseg-step.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const S = args.size;
const C = 4;
const student = new E.UNet({ numClasses: C });
const teacher = E.EmaTeacher.forUNet(student);
const vit = args.sa === 'none' ? null : args.dinov2 ? E.loadDinov2(args.dinov2) : new E.Dinov2(E.DINOV2_CONFIGS[args.vit]).eval().freeze();
const sa = vit ? new E.SaTerm(E.dinov2Embedder(vit, args['vit-size']), { mode: args.sa, lambda: 0.1 }) : null;
const options = {
  softLoss: true,
  softLossForm: args['soft-loss-form'],
  largestComponent: true,
  saInput: args['sa-input'],
  saEvery: args['sa-every'],
  saSubset: args['sa-subset'],
};
if (vit) {
  console.log(`SA: mode ${args.sa}, input ${options.saInput}, every ${options.saEvery}, subset ${options.saSubset || 'all'}, ` +
    `ViT ${args.dinov2 ?? `${args.vit} (random weights: timing only)`} at ${args['vit-size']}²`);
}
const opt = new E.SGD(E.selfTrainParameters(student, sa), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
const step = new E.SelfTrainStep(student, teacher, opt, sa, options);
const rng = new E.SeededRng(1);
const gen = new E.Generator(1);
const half = (n, cls) => {
  const labels = E.keep(E.tensor(new Int32Array((n / 2) * S * S).map((_, i) => ((i >> 9) + cls) % C), [n / 2, S, S], 'i32'));
  return { image: E.keep(E.rand([n / 2, 1, S, S], gen)), labels, onehot: E.keep(E.oneHot(labels, C, 1)) };
};
const batchOf = (alpha) => ({ lab: { a: half(args.labeled, 0), b: half(args.labeled, 1) }, unl: { a: half(args.unlabeled, 2), b: half(args.unlabeled, 3) }, alpha });

const phases = {};
const time = async (name, fn) => {
  const t0 = performance.now();
  const r = await fn();
  await E.sync();
  (phases[name] ??= 0);
  phases[name] += performance.now() - t0;
  return r;
};

for (let it = 0; it <= args.steps; it++) {
  if (it === 1) for (const k of Object.keys(phases)) phases[k] = 0; // iteration 0 is the warm-up
  const alpha = await time('mask (draw, smooth, upload)', () => E.mixingMask(S, S, rng, { blend: 'avgpool3' }).alpha);
  const batch = batchOf(alpha);
  const pseudo = await time('teacher forward + pseudo-labels (×2 halves)', () => step.pseudoLabels(batch.unl));
  const seg = await time('mixed forward (×2) + soft loss', () =>
    E.tidy(() => {
      const s = step.segmentation(batch, pseudo);
      return { loss: E.keep(s.loss), mixed: s.mixed.map(E.keep), out: s.out.map((o) => ({ logits: E.keep(o.logits), bottleneck: E.keep(o.bottleneck) })) };
    }),
  );
  const saPart = await time(`SA forward (${args.sa})`, () =>
    E.tidy(() => {
      const r = step.alignment(batch, seg, it);
      return r && { term: E.keep(r.term), weighted: E.keep(r.weighted), nearest: E.keep(r.nearest) };
    }),
  );
  await time('backward + SGD step', () => E.tidy(() => step.update(E.combineLosses(seg, saPart).total)));
  await time('EMA update', () => step.ema());
  for (const t of [alpha, seg.loss, ...seg.mixed, ...seg.out.flatMap((o) => [o.logits, o.bottleneck]), ...(saPart ? [saPart.term, saPart.weighted, saPart.nearest] : [])]) t.dispose();
  E.disposePseudo(pseudo);
  E.disposeHalves(batch.lab);
  E.disposeHalves(batch.unl);
}

let total = 0;
for (const [k, ms] of Object.entries(phases)) {
  const perStep = ms / args.steps;
  total += perStep;
  console.log(`${k.padEnd(46)} ${(perStep / 1000).toFixed(2).padStart(8)} s`);
}
console.log(`${'total per step'.padEnd(46)} ${(total / 1000).toFixed(2).padStart(8)} s · peak pool memory ${(E.memoryStats().peakLiveBytes / 2 ** 30).toFixed(2)} GiB`);
await E.shutdown();
