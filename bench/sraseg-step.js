#!/usr/bin/env node
// One SRA-Seg self-training step at the published shape (12 labeled + 12 unlabeled slices, 256²),
// timed per phase with a GPU sync between phases: teacher forward + pseudo-labels (incl. the
// largest-component filter on the CPU), mixing, the two mixed student forward/backward passes with the
// soft loss, the SA term (frozen DINOv2 at 224², forward and backward), the optimiser step, the EMA
// update. The ViT has random weights of the chosen DINOv2 shape (--dinov2 loads real ones): the
// time does not depend on the weight values, and no checkpoint is needed to measure it.
// Usage: node bench/sraseg-step.js [--labeled 12] [--unlabeled 12] [--size 256] [--steps 3]
//        [--sa features|prediction|published|none] [--vit vits14|vitb14] [--dinov2 FILE]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  labeled: { type: 'number', default: 12, help: 'labeled slices (halves a, b)' },
  unlabeled: { type: 'number', default: 12, help: 'unlabeled slices (halves a, b)' },
  size: { type: 'number', default: 256, help: 'image side' },
  steps: { type: 'number', default: 3, help: 'timed steps (median per phase)' },
  sa: { type: 'string', default: 'features', help: "SA mode timed: features | prediction | published | none" },
  vit: { type: 'string', default: 'vits14', help: 'DINOv2 shape when no --dinov2 is given (random weights)' },
  dinov2: { type: 'string', help: 'real DINOv2 weights (.pth or .safetensors) instead of a random ViT' },
  'vit-size': { type: 'number', default: 224, help: 'side the ViT sees' },
}, 'usage: node bench/sraseg-step.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const S = args.size;
const student = new E.UNet({ numClasses: 4 });
const teacher = E.EmaTeacher.forUNet(student);
const vit = args.sa === 'none' ? null : args.dinov2 ? E.loadDinov2(args.dinov2) : new E.Dinov2(E.DINOV2_CONFIGS[args.vit]).eval().freeze();
const sa = vit ? new E.SaTerm(vit, student.config.features[4], { mode: args.sa, lambda: 0.1, vitSize: args['vit-size'] }) : null;
if (vit) console.log(`SA: mode ${args.sa}, ViT ${args.dinov2 ?? `${args.vit} (random weights: timing only)`} at ${args['vit-size']}²`);
const opt = new E.SGD([...student.parameters(), ...(sa?.projection?.parameters() ?? [])], { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
const rng = new E.SeededRng(1);
const half = (n) => E.keep(E.rand([n / 2, 1, S, S]));
const labels = (n) => E.keep(E.oneHot(E.tensor(new Int32Array((n / 2) * S * S).map((_, i) => (i >> 9) % 4), [n / 2, S, S], 'i32'), 4, 1));
const [la, lb, ua, ub] = [half(args.labeled), half(args.labeled), half(args.unlabeled), half(args.unlabeled)];
const [ya, yb] = [labels(args.labeled), labels(args.labeled)];

const phases = {};
const time = async (name, fn) => {
  const t0 = performance.now();
  const r = await fn();
  await E.sync();
  (phases[name] ??= []).push(performance.now() - t0);
  return r;
};

for (let s = 0; s <= args.steps; s++) {
  const pa = await time('teacher forward + pseudo-labels', () => teacher.pseudoLabels(ua));
  const pb = await time('teacher forward + pseudo-labels', () => teacher.pseudoLabels(ub));
  const { alpha } = await time('mask (draw, smooth, upload)', () => E.mixingMask(S, S, rng, { blend: 'avgpool3' }));
  await time('mixed forward + backward (×2) + soft loss', () =>
    E.tidy(() => {
      const outUnl = student.forward(E.blend(ua, la, alpha));
      const outLab = student.forward(E.blend(lb, ub, alpha));
      const l = E.add(E.softSegLoss(outUnl, E.blend(pa.oneHot, ya, alpha)).loss, E.softSegLoss(outLab, E.blend(yb, pb.oneHot, alpha)).loss);
      E.backward(l);
    }),
  );
  if (sa) {
    // 'published' has no gradient path (the published code's SA term cannot reach the UNet): forward only.
    const withBackward = args.sa !== 'published';
    await time(`SA (${args.sa}) forward${withBackward ? ' + backward' : ''}`, () =>
      E.tidy(() => {
        const l = sa.loss(student, E.concat([ua, ub], 0), E.concat([la, lb], 0), E.concat([ya, yb], 0));
        if (withBackward) E.backward(l);
      }),
    );
  }
  await time('SGD step', () => {
    opt.step();
    opt.zeroGrad();
  });
  await time('EMA update', () => teacher.update(student));
  for (const t of [alpha, pa.labels, pa.oneHot, pb.labels, pb.oneHot]) t.dispose();
  if (s === 0) for (const k of Object.keys(phases)) phases[k] = []; // first step is warm-up
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let total = 0;
for (const [k, xs] of Object.entries(phases)) {
  const perStep = (median(xs) * xs.length) / args.steps; // the teacher phase runs twice per step
  total += perStep;
  console.log(`${k.padEnd(44)} ${perStep.toFixed(0).padStart(8)} ms`);
}
console.log(`${'total per step'.padEnd(44)} ${total.toFixed(0).padStart(8)} ms · peak pool memory ${(E.memoryStats().peakLiveBytes / 2 ** 20).toFixed(0)} MiB`);
await E.shutdown();
