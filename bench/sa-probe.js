#!/usr/bin/env node
// What the SA term can move: SGD on the SA term ALONE, over every parameter self-training updates
// (E.selfTrainParameters: the UNet's, the SA term adds none), on one fixed batch of slices, through
// the trainer's own step pieces (E.SelfTrainStep: the mixed images, the SA inputs, the SA term).
// Prints the term and how far the UNet's logits on the synthetic (unlabeled) slices moved, then the
// control: the same steps with the UNet frozen, where nothing trainable is left. The term and the
// logits are evaluated in train mode with the dropout stream reset to one fixed state each time, so
// they change only when the parameters do.
// Usage: node bench/sa-probe.js --data ../shared/data/ACDC --dinov2 FILE [--sa-mode prediction]
//        [--sa-input mixed] [--size 64] [--batch 4] [--steps 20] [--lr 0.01] [--vit-size 56] [--unlabeled real|DIR]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  data: { type: 'string', required: true, help: 'ACDC directory (SSL4MIS layout)' },
  unlabeled: { type: 'string', default: 'real', help: "the synthetic side: 'real' unlabeled ACDC slices, or a folder of synthetic slices" },
  labeled: { type: 'number', default: 7, help: 'labeled patients' },
  dinov2: { type: 'string', required: true, help: 'DINOv2 weights (.pth / .safetensors), e.g. from bench/tiny-dinov2.js' },
  'sa-mode': { type: 'string', default: 'prediction', choices: ['prediction', 'features', 'published'], help: 'SA mode' },
  'sa-input': { type: 'string', default: 'mixed', choices: ['mixed', 'unlabeled'], help: "SA's synthetic side" },
  'vit-size': { type: 'number', default: 56, help: 'side the ViT sees' },
  size: { type: 'number', default: 64, help: 'slice side' },
  batch: { type: 'number', default: 4, help: 'labeled and unlabeled slices (each)' },
  steps: { type: 'number', default: 20, help: 'SGD steps on the SA term alone' },
  lr: { type: 'number', default: 0.01, help: 'SGD learning rate (momentum 0.9, as training)' },
  seed: { type: 'number', default: 1337, help: 'UNet weights, slice choice, mask' },
}, 'usage: node bench/sa-probe.js --data DIR --dinov2 FILE [options]');

await E.init();
let data = await E.AcdcDataset.open({ root: args.data, labeled: { patients: args.labeled } });
if (args.unlabeled !== 'real') data = await E.WithUnlabeled.open(data, args.unlabeled);
const S = args.size;
const rng = new E.SeededRng(args.seed);
const pick = (pool) => Array.from({ length: args.batch }, () => pool[rng.int(0, pool.length)]);
const lab = E.uploadHalves(data, pick(data.labeledIndices), S, rng);
const unl = E.uploadHalves(data, pick(data.unlabeledIndices), S, rng);
const { alpha } = E.mixingMask(S, S, rng, { blend: 'avgpool3' });
const batch = { lab, unl, alpha };

const student = new E.UNet({ numClasses: data.numClasses, seed: args.seed });
const teacher = E.EmaTeacher.forUNet(student);
const sa = new E.SaTerm(E.dinov2Embedder(E.loadDinov2(args.dinov2), args['vit-size']), { mode: args['sa-mode'], lambda: 1 });
const params = E.selfTrainParameters(student, sa);
const opt = new E.SGD(params, { lr: args.lr, momentum: 0.9 });
const step = new E.SelfTrainStep(student, teacher, opt, sa, { softLoss: true, softLossForm: 'published', largestComponent: true, saInput: args['sa-input'], saEvery: 1, saSubset: 0 });
const pseudo = await step.pseudoLabels(unl);
const synthetic = E.keep(E.concat([unl.a.image, unl.b.image], 0));
console.log(`SA probe: mode ${args['sa-mode']}, input ${args['sa-input']}, ${args.batch} + ${args.batch} ACDC slices at ${S}², ViT ${args.dinov2} at ${args['vit-size']}²`);
console.log(`trainable parameters: ${params.length} tensors, ${params.reduce((s, p) => s + p.size, 0).toLocaleString('en')} values — the UNet's ${student.parameters().length} and nothing else`);

const fixedDropout = { seed: 424242, offset: 0 };
async function logits() {
  const saved = student.generator.state();
  student.generator.setState(fixedDropout);
  const y = E.tidy(() => E.noGrad(() => student.forward(synthetic)));
  student.generator.setState(saved);
  const v = await y.data();
  y.dispose();
  return v;
}
/** The term as one SGD step sees it; `train` runs backward + step when the term depends on a trainable parameter. */
async function saStep(train) {
  let requiresGrad = false;
  student.generator.setState(fixedDropout); // the same dropout masks every time: the term is a function of the parameters
  const term = E.tidy(() => {
    const seg = step.segmentation(batch, pseudo);
    const r = step.alignment(batch, seg, 0);
    requiresGrad = r.term.requiresGrad;
    if (train && requiresGrad) E.backward(r.term);
    opt.step();
    opt.zeroGrad();
    return E.keep(E.detach(r.term));
  });
  const v = await term.item();
  term.dispose();
  return { v, requiresGrad };
}
const compare = (a, b) => {
  let max = 0;
  let sum = 0;
  let flips = 0;
  const C = data.numClasses;
  const plane = S * S;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  for (let n = 0; n < a.length / (C * plane); n++) {
    for (let k = 0; k < plane; k++) {
      const arg = (x) => {
        let best = 0;
        for (let c = 1; c < C; c++) if (x[(n * C + c) * plane + k] > x[(n * C + best) * plane + k]) best = c;
        return best;
      };
      if (arg(a) !== arg(b)) flips++;
    }
  }
  return `mean |Δlogit| ${(sum / a.length).toExponential(2)}, max ${max.toExponential(2)}, argmax changed at ${((100 * flips) / (a.length / C)).toFixed(1)} % of pixels`;
};

const l0 = await logits();
const trace = [];
let r;
for (let i = 0; i < args.steps; i++) {
  r = await saStep(true);
  trace.push(r.v);
}
const last = (await saStep(false)).v;
const l1 = await logits();
console.log(`SA term over ${args.steps} SGD steps (UNet trainable): ${trace[0].toFixed(4)} → ${last.toFixed(4)}` +
  (r.requiresGrad ? '' : ' (the term does not depend on any trainable parameter)'));
console.log(`  trace: ${trace.filter((_, i) => i % Math.max(1, Math.floor(args.steps / 10)) === 0).map((v) => v.toFixed(4)).join(' ')}`);
console.log(`  UNet logits on the ${synthetic.shape[0]} synthetic slices: ${compare(l0, l1)}`);

for (const p of student.parameters()) p.requiresGrad = false;
const frozen = [];
for (let i = 0; i < args.steps; i++) frozen.push(await saStep(true));
const l2 = await logits();
console.log(`UNet frozen, ${args.steps} more SGD steps: term requires grad: ${frozen[0].requiresGrad}; ${frozen[0].v.toFixed(4)} → ${frozen.at(-1).v.toFixed(4)}; logits: ${compare(l1, l2)}`);
await E.shutdown();
