// BCP and SRA-Seg steps (src/sraseg/steps.ts) on a case small enough to write down: 4×4 slices of one
// constant value per half, a box mask chosen by hand, a "network" whose logits are a known affine map
// of the pixel value (w_c·v + b_c), and an SA embedder that averages each channel. The expected mixed
// images and targets are written from eq. 6–11 and the losses evaluated in float64
// (test/sraseg-reference.ts), so a wrong pairing, weight, α, role or λ changes the number.
//
// Mutations each test exists to catch (each made once by hand in src/sraseg/steps.ts or sa.ts, and
// seen to fail):
//  M1 image halves paired wrongly (Ṽ1 = α·U_a + (1 − α)·L_b, or Ṽ2 from U_a)
//  M2 label halves paired wrongly (L̃1 with Y_b; BCP's first image scored against Y_b)
//  M3 BCP's region weights swapped (pseudo-labelled pixels 1, ground truth 0.5)
//  M4 soft labels blended with another α than the images (the hard mask, or 1 − α)
//  M5 SA's synthetic and real roles swapped (in the step or inside the SA term)
//  M6 λ not applied to the SA term
//  M7 pseudo-labels of the wrong unlabeled half (P_a from U_b)
//  M8 pre-training's pair reversed (b outside the box) or its labels swapped
//  M9 --sa-subset taking its rows from one half only; --sa-every off by one
//  M10 the unlabeled slices' own (never to be used) labels used instead of pseudo-labels
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { parseOptions } from '../src/cli/options.js';
import { checkMethodArgs, METHOD_OPTIONS } from '../src/cli/train-methods.js';
import { assertClose } from './helpers.js';
import { bcpHalf64, map4, sa64, softmax64, softSeg64, type Map4, at } from './sraseg-reference.js';

const S = 4;
const C = 4;
// logits_c(v) = W0[c]·v + B0[c]: at 0.9 the argmax is class 1 (1.1 vs 0, −0.7, −4), at 1.5 class 3
// (8 vs 0, 3.5, −1.9): the teacher's labels of the two unlabeled slices.
const W0 = [0, 4, -2, 20];
const B0 = [0, -2.5, 1.1, -22];

/** Per-pixel affine logits; bottleneck = (mean v, mean v²) per image, [B, 2, 1, 1]. */
class PixelNet extends E.Module {
  readonly w: E.Tensor;
  readonly b: E.Tensor;

  constructor(w = W0, b = B0) {
    super();
    this.w = this.registerParameter('w', () => E.tensor(w, [1, C, 1, 1]));
    this.b = this.registerParameter('b', () => E.tensor(b, [1, C, 1, 1]));
  }

  forwardAll(x: E.Tensor) {
    const [n, , h, w] = x.shape;
    const logits = E.add(E.mul(E.expand(x, [n, C, h, w]), this.w), this.b);
    const bottleneck = E.concat([E.mean(x, [2, 3], true), E.mean(E.mul(x, x), [2, 3], true)], 1);
    return { logits, bottleneck };
  }

  forward(x: E.Tensor) {
    return this.forwardAll(x).logits;
  }
}

/** Channel means: [B, k, H, W] → [B, k]. Parameter-free, so frozen by construction. */
const meanEmbedder: E.ImageEmbedder = {
  embed: (x) => E.reshape(E.mean(x, [2, 3]), [x.shape[0], x.shape[1]]),
  parameters: () => [],
};

// The four slices (one per half) and their classes. Unlabeled slices carry labels too (3 and 2), which
// no step may use (M10); the teacher's pseudo-labels are classes 1 and 3.
const VAL = { la: 0.1, lb: 0.5, ua: 0.9, ub: 1.5 };
const GT = { la: 2, lb: 0, ua: 3, ub: 2 };
const PSEUDO = { ua: 1, ub: 3 };
// α: 1 outside a 2×2 box (rows 1–2, columns 1–2); soft inside for SRA-Seg, 0 for BCP.
const ALPHA_SOFT = [1, 1, 1, 1, 1, 0.2, 0.4, 1, 1, 0, 0.6, 1, 1, 1, 1, 1];
const ALPHA_HARD = [1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1];

function half(value: number, cls: number): E.Half {
  const labels = E.tensor(new Int32Array(S * S).fill(cls), [1, S, S], 'i32');
  return { image: E.tensor(new Float32Array(S * S).fill(value), [1, 1, S, S]), labels, onehot: E.oneHot(labels, C, 1) };
}

function makeBatch(alpha: number[]): E.SelfTrainBatch {
  return {
    lab: { a: half(VAL.la, GT.la), b: half(VAL.lb, GT.lb) },
    unl: { a: half(VAL.ua, GT.ua), b: half(VAL.ub, GT.ub) },
    alpha: E.tensor(alpha, [1, 1, S, S]),
  };
}

// ---- the expected values, by hand and in f64 -----------------------------------------------------
/** Eq. 6–7: α·(image outside the box) + (1 − α)·(image inside), per pixel. */
const mixed = (alpha: number[], outside: number, inside: number) => alpha.map((a) => a * outside + (1 - a) * inside);
const logitsOf = (img: number[]): Map4 => map4([1, C, S, S], (_, c, y, x) => W0[c] * img[y * S + x] + B0[c]);
/** Eq. 8–9: α·onehot(outside class) + (1 − α)·onehot(inside class). */
const softTarget = (alpha: number[], cOut: number, cIn: number): Map4 =>
  map4([1, C, S, S], (_, c, y, x) => alpha[y * S + x] * (c === cOut ? 1 : 0) + (1 - alpha[y * S + x]) * (c === cIn ? 1 : 0));
const fill = (cls: number) => new Int32Array(S * S).fill(cls);
const meanOf = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
/** The prediction-mode embedding: mean probability of classes 1, 2, 3 (the colour channels). */
const predEmbedding = (img: number[]) => {
  const p = softmax64(logitsOf(img));
  return [1, 2, 3].map((c) => meanOf(Array.from({ length: S * S }, (_, k) => at(p, 0, c, Math.floor(k / S), k % S))));
};
const oneHotEmbedding = (cls: number) => [1, 2, 3].map((c) => (c === cls ? 1 : 0));
const constant = (v: number) => new Array(S * S).fill(v);

const V1 = (alpha: number[]) => mixed(alpha, VAL.ua, VAL.la); // unlabeled outside, labeled box
const V2 = (alpha: number[]) => mixed(alpha, VAL.lb, VAL.ub); // labeled outside, unlabeled box

function expectedSoftSeg(form: 'published' | 'paper'): number {
  const a = ALPHA_SOFT;
  return softSeg64(logitsOf(V1(a)), softTarget(a, PSEUDO.ua, GT.la), form) + softSeg64(logitsOf(V2(a)), softTarget(a, GT.lb, PSEUDO.ub), form);
}

function expectedBcp(): number {
  const a = ALPHA_HARD;
  const m = Float64Array.from(a);
  return bcpHalf64(logitsOf(V1(a)), fill(PSEUDO.ua), fill(GT.la), m, 0.5, 1) + bcpHalf64(logitsOf(V2(a)), fill(GT.lb), fill(PSEUDO.ub), m, 1, 0.5);
}

/** L_SA of each mode, synthetic side `syn` (images), real side the two labeled slices. */
function expectedSa(mode: E.SaMode, syn: number[][]): number {
  const real = [constant(VAL.la), constant(VAL.lb)];
  if (mode === 'prediction') return sa64(syn.map(predEmbedding), [oneHotEmbedding(GT.la), oneHotEmbedding(GT.lb)]);
  if (mode === 'published') return sa64(syn.map((s) => [meanOf(s)]), real.map((r) => [meanOf(r)]));
  // features: nearest real by the embedder (the mean), distance between (mean v, mean v²).
  const g = (img: number[]) => [meanOf(img), meanOf(img.map((v) => v * v))];
  let s = 0;
  for (const img of syn) {
    const j = Math.abs(meanOf(img) - VAL.la) <= Math.abs(meanOf(img) - VAL.lb) ? 0 : 1;
    s += Math.hypot(...g(img).map((v, k) => v - g(real[j])[k]));
  }
  return s / syn.length;
}

// ---- the steps -------------------------------------------------------------------------------------
const options = (o: Partial<E.SelfTrainOptions> = {}): E.SelfTrainOptions => ({
  softLoss: true,
  softLossForm: 'published',
  largestComponent: true,
  saInput: 'mixed',
  saEvery: 1,
  saSubset: 0,
  ...o,
});

async function runStep(alpha: number[], o: E.SelfTrainOptions, sa: E.SaTerm | null, it = 0) {
  const student = new PixelNet();
  const teacher = new E.EmaTeacher(new PixelNet(), student);
  const batch = makeBatch(alpha);
  const pseudo = await E.pseudoLabelPair(teacher, batch.unl, o.largestComponent);
  const pa = Array.from(await pseudo.a.labels.data());
  const pb = Array.from(await pseudo.b.labels.data());
  const l = E.selfTrainLoss(student, batch, pseudo, sa, o, it);
  return {
    pa,
    pb,
    total: await l.total.item(),
    seg: await l.seg.item(),
    sa: l.sa ? await l.sa.term.item() : null,
  };
}

// M7: the teacher's labels of U_a (0.9 → class 1) and of U_b (1.5 → class 3), in that order.
test('pseudo-labels: each unlabeled half gets its own teacher labels (hand-computed classes)', async () => {
  const r = await runStep(ALPHA_SOFT, options(), null);
  assert.equal(r.pa, Array.from(fill(PSEUDO.ua)));
  assert.equal(r.pb, Array.from(fill(PSEUDO.ub)));
});

// M1, M2, M4, M7, M10 (SRA-Seg): the soft loss of Ṽ1 against L̃1 plus Ṽ2 against L̃2, both forms.
test('SRA-Seg self-training loss = soft loss of Ṽ1/L̃1 + Ṽ2/L̃2, written out from eq. 6–9 (both loss forms)', async () => {
  for (const form of ['published', 'paper'] as const) {
    const r = await runStep(ALPHA_SOFT, options({ softLossForm: form }), null);
    assertClose([r.seg, r.total], [expectedSoftSeg(form), expectedSoftSeg(form)], 1e-5, 1e-6, `SRA-Seg ${form}`); // f32 on 32 pixels
  }
});

// M1, M2, M3, M7, M10 (BCP): hard labels, pseudo-labelled region 0.5, ground truth 1, (Dice + CE)/2 each.
test('BCP self-training loss: regions, labels and weights 0.5 / 1 written out by hand', async () => {
  const r = await runStep(ALPHA_HARD, options({ softLoss: false }), null);
  assertClose([r.seg], [expectedBcp()], 1e-5, 1e-6, 'BCP');
  // The swapped weights give a different number here (what M3 would produce), so the check can fail.
  const a = ALPHA_HARD;
  const m = Float64Array.from(a);
  const swapped = bcpHalf64(logitsOf(V1(a)), fill(PSEUDO.ua), fill(GT.la), m, 1, 0.5) + bcpHalf64(logitsOf(V2(a)), fill(GT.lb), fill(PSEUDO.ub), m, 0.5, 1);
  assert.ok(Math.abs(swapped - expectedBcp()) > 1e-3, `the case separates the weights (${swapped} vs ${expectedBcp()})`);
});

// M5, M6 for every mode and both inputs; M9 (subset, every-k).
test('SA term: λ·L_SA with the synthetic side (mixed or unlabeled) pulled toward the real labeled side, every mode', async () => {
  const lambda = 0.25;
  const segOnly = expectedSoftSeg('published');
  for (const mode of E.SA_MODES) {
    const sa = new E.SaTerm(meanEmbedder, { mode, lambda });
    for (const saInput of E.SA_INPUTS) {
      const syn = saInput === 'mixed' ? [V1(ALPHA_SOFT), V2(ALPHA_SOFT)] : [constant(VAL.ua), constant(VAL.ub)];
      const want = expectedSa(mode, syn);
      const r = await runStep(ALPHA_SOFT, options({ saInput }), sa);
      const what = `${mode}/${saInput}`;
      assertClose([r.sa!], [want], 1e-5, 1e-6, `${what} L_SA`);
      assertClose([r.seg, r.total], [segOnly, segOnly + lambda * want], 1e-5, 1e-6, `${what} total = seg + λ·SA`);
      // The roles reversed give another value on this case, so M5 cannot pass unnoticed.
      const real = [constant(VAL.la), constant(VAL.lb)];
      assert.ok(Math.abs(swappedSa(mode, syn, real) - want) > 1e-3, `${what}: the case separates the roles`);
    }
    // --sa-subset 1 keeps Ṽ1 and L_a only.
    const sub = await runStep(ALPHA_SOFT, options({ saSubset: 1 }), sa);
    assertClose([sub.sa!], [expectedSaSubset(mode)], 1e-5, 1e-6, `${mode} subset 1`);
    // --sa-every 2: iterations 0, 2, 4 … only.
    const off = await runStep(ALPHA_SOFT, options({ saEvery: 2 }), sa, 1);
    const on = await runStep(ALPHA_SOFT, options({ saEvery: 2 }), sa, 2);
    assert.is(off.sa, null, `${mode}: no SA at iteration 1 of every 2`);
    assertClose([off.total], [segOnly], 1e-5, 1e-6, `${mode} every 2, iteration 1`);
    assertClose([on.sa!], [expectedSa(mode, [V1(ALPHA_SOFT), V2(ALPHA_SOFT)])], 1e-5, 1e-6, `${mode} every 2, iteration 2`);
  }
});

/** What M5 would compute: the real rows pulled toward their nearest synthetic rows. */
function swappedSa(mode: E.SaMode, syn: number[][], real: number[][]): number {
  if (mode === 'prediction') return sa64([oneHotEmbedding(GT.la), oneHotEmbedding(GT.lb)], syn.map(predEmbedding));
  if (mode === 'published') return sa64(real.map((r) => [meanOf(r)]), syn.map((s) => [meanOf(s)]));
  const g = (img: number[]) => [meanOf(img), meanOf(img.map((v) => v * v))];
  let s = 0;
  for (const r of real) {
    const j = Math.abs(meanOf(r) - meanOf(syn[0])) <= Math.abs(meanOf(r) - meanOf(syn[1])) ? 0 : 1;
    s += Math.hypot(...g(r).map((v, k) => v - g(syn[j])[k]));
  }
  return s / real.length;
}

/** L_SA on Ṽ1 against L_a alone (subset 1: ⌈1/2⌉ row of the first half, none of the second). */
function expectedSaSubset(mode: E.SaMode): number {
  const v1 = V1(ALPHA_SOFT);
  if (mode === 'prediction') return sa64([predEmbedding(v1)], [oneHotEmbedding(GT.la)]);
  if (mode === 'published') return Math.abs(meanOf(v1) - VAL.la);
  const g = (img: number[]) => [meanOf(img), meanOf(img.map((v) => v * v))];
  return Math.hypot(...g(v1).map((v, k) => v - g(constant(VAL.la))[k]));
}

// M8: pre-training mixes a (outside the box) with b (inside), labels likewise, weight 1 each.
test('pre-training loss: a·α + b·(1 − α) against the labels blended the same way (SRA-Seg) or a/b regions (BCP)', async () => {
  const student = new PixelNet();
  const { lab } = makeBatch(ALPHA_SOFT);
  for (const [softLoss, alpha] of [
    [true, ALPHA_SOFT],
    [false, ALPHA_HARD],
  ] as const) {
    const got = await E.preTrainLoss(student, lab.a, lab.b, E.tensor([...alpha], [1, 1, S, S]), { softLoss, softLossForm: 'published' }).item();
    const logits = logitsOf(mixed([...alpha], VAL.la, VAL.lb));
    const want = softLoss ? softSeg64(logits, softTarget([...alpha], GT.la, GT.lb), 'published') : bcpHalf64(logits, fill(GT.la), fill(GT.lb), Float64Array.from(alpha), 1, 1);
    assertClose([got], [want], 1e-5, 1e-6, softLoss ? 'SRA-Seg pre-training' : 'BCP pre-training');
  }
});

// The options that select these behaviours: defaults as docs/METHOD.md states them, and one clear
// message per bad value (catches a default changed without the docs, or a bad value let through).
test('method options: defaults (prediction, mixed, published form, reload) and one-line errors', () => {
  const parse = (argv: string[]) => {
    const r = parseOptions(argv, METHOD_OPTIONS);
    if (r.help) throw new Error('unexpected --help');
    return r.values;
  };
  const d = parse([]);
  assert.equal([d['sa-mode'], d['sa-input'], d['soft-loss-form'], d['reload-optimizer'], d['sa-every'], d['sa-subset'], d['vit-size']], ['prediction', 'mixed', 'published', true, 1, 0, 224]);
  parse(['--no-sa', '--sa-mode', 'features', '--sa-input', 'unlabeled', '--soft-loss-form', 'paper', '--sa-every', '4', '--sa-subset', '2', '--vit-size', '112']);
  const problem = (argv: string[]) => {
    try {
      checkMethodArgs(parse(argv));
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  assert.match(problem(['--sa-mode', 'head'])!, /--sa-mode head: .*prediction.*features.*published/);
  assert.match(problem(['--sa-input', 'real'])!, /--sa-input real:/);
  assert.match(problem(['--soft-loss-form', 'mean'])!, /--soft-loss-form mean:/);
  assert.match(problem(['--sa-every', '0'])!, /--sa-every 0: must be an integer ≥ 1/);
  assert.match(problem(['--sa-subset', '-1'])!, /--sa-subset -1: must be an integer ≥ 0/);
  assert.match(problem(['--vit-size', '100'])!, /--vit-size 100: must be .*a multiple of 14/);
  assert.match(problem(['--method', 'sra-seg'])!, /needs DINOv2 weights: pass --dinov2 <file>/);
});

test.run();
