// The SA term with a real (tiny) UNet and a tiny random DINOv2: its only way down is the segmentation
// network. For each trainable mode, SGD on the SA term alone over every parameter self-training
// updates (selfTrainParameters) lowers it and moves the UNet's logits on the synthetic images; with
// the UNet frozen nothing trainable is left (the term does not require grad, and SGD changes nothing).
// Mistakes these tests catch (each made once by hand): the SA term contributing trainable parameters
// of its own (the parameter-list checks of both modes fail); the real side not detached in 'features'
// mode (the gradient-path test fails); no gradient path into the UNet in 'prediction' mode (the SA
// term then cannot fall); a trainable ViT accepted (the constructor test). The last test keeps the
// removed design as a contrast: a learned projection lowers the term with the UNet frozen, which is
// why it was removed.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

/**
 * A tiny random DINOv2 whose LayerScale γ are 1 instead of the 1e−5 of DINOv2's initialisation: with
 * 1e−5 the blocks barely touch the CLS token and every image gets nearly the same embedding (released
 * checkpoints have trained γ of order 0.1–1).
 */
function tinyVit(): E.Dinov2 {
  const vit = new E.Dinov2(
    { embedDim: 16, depth: 1, numHeads: 2, patchSize: 14, pretrainGrid: 2, numRegisters: 0, ffn: 'mlp', ffnHidden: 64, interpolateOffset: 0.1, interpolateAntialias: false, inChannels: 3 },
    5,
  );
  const ones = new Map(vit.namedParameters().filter(([k]) => k.endsWith('.gamma')).map(([k, p]) => [k, E.tensor(new Float32Array(p.size).fill(1), p.shape)]));
  vit.loadStateDict(ones, { strict: false });
  for (const t of ones.values()) t.dispose();
  return vit.freeze();
}

// No dropout: the UNet's train-mode forward is then a function of its parameters alone (batch
// statistics), so a change in its logits is a change made by the optimiser.
const tinyUNet = () => new E.UNet({ features: [2, 4, 4, 4, 8], dropout: [0, 0, 0, 0, 0], numClasses: 4, seed: 2 });

function inputs() {
  const gen = new E.Generator(7);
  const synthetic = E.rand([3, 1, 32, 32], gen);
  const real = E.rand([4, 1, 32, 32], gen);
  const labels = E.tensor(Int32Array.from({ length: 4 * 32 * 32 }, (_, i) => ((i >> 7) + (i >> 12)) % 4), [4, 32, 32], 'i32');
  return { synthetic, real, realOneHot: E.oneHot(labels, 4, 1) };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function termValue(sa: E.SaTerm, net: E.SaNetwork, batch: E.SaBatch): Promise<number> {
  const r = E.noGrad(() => sa.loss(net, batch));
  const v = await r.term.item();
  for (const t of [r.term, r.weighted, r.nearest]) t.dispose();
  return v;
}

for (const mode of ['prediction', 'features'] as const) {
  test(`SA '${mode}': SGD on the SA term alone lowers it by moving the UNet's logits; with the UNet frozen nothing can`, async () => {
    const student = tinyUNet();
    const net = E.unetSaNetwork(student);
    const sa = new E.SaTerm(E.dinov2Embedder(tinyVit(), 28), { mode, lambda: 1 });
    const batch = inputs();
    // Every parameter self-training would update is the UNet's: the SA term adds none.
    const params = E.selfTrainParameters(student, sa);
    assert.is(params.length, student.parameters().length);
    assert.ok(params.every((p, i) => p === student.parameters()[i]));
    assert.ok(sa.embedder.parameters().length > 0 && sa.embedder.parameters().every((p) => !p.requiresGrad), 'the ViT is frozen');

    const logits0 = (await E.noGrad(() => student.forward(batch.synthetic)).data()) as Float32Array;
    const before = await termValue(sa, net, batch);
    const opt = new E.SGD(params, { lr: mode === 'prediction' ? 0.5 : 0.05 });
    for (let i = 0; i < 8; i++) {
      E.tidy(() => {
        const r = sa.loss(net, batch);
        E.backward(r.term);
        if (mode === 'features') {
          // The real side is detached: only the synthetic images' forward carries the gradient.
          assert.ok(r.term.requiresGrad);
        }
        opt.step();
        opt.zeroGrad();
      });
    }
    const after = await termValue(sa, net, batch);
    const logits1 = (await E.noGrad(() => student.forward(batch.synthetic)).data()) as Float32Array;
    assert.ok(after < before * 0.98, `the SA term falls: ${before} → ${after}`);
    assert.ok(maxAbsDiff(logits0, logits1) > 1e-3, `the UNet's logits on the synthetic images move (max |Δ| ${maxAbsDiff(logits0, logits1)})`);

    // Frozen UNet: the term no longer depends on anything trainable, and optimising changes nothing.
    for (const p of student.parameters()) p.requiresGrad = false;
    const frozen = sa.loss(net, batch);
    assert.is(frozen.term.requiresGrad, false, 'nothing trainable reaches the term once the UNet is frozen');
    for (let i = 0; i < 3; i++) {
      opt.step();
      opt.zeroGrad();
    }
    assert.is(await termValue(sa, net, batch), after, 'SGD with the UNet frozen leaves the term exactly where it was');
    opt.dispose();
    student.dispose();
  });
}

test("SA 'features': the gradient reaches the UNet through the synthetic images only (the real side is detached)", async () => {
  const student = tinyUNet();
  const sa = new E.SaTerm(E.dinov2Embedder(tinyVit(), 28), { mode: 'features', lambda: 1 });
  const { synthetic, real, realOneHot } = inputs();
  // The network seen by the SA term: record which inputs go through a differentiable forward.
  const seen: { n: number; grad: boolean }[] = [];
  const net: E.SaNetwork = {
    forwardAll: (x) => {
      const o = student.forwardAll(x);
      seen.push({ n: x.shape[0], grad: o.bottleneck.requiresGrad });
      return o;
    },
  };
  const r = sa.loss(net, { synthetic, real, realOneHot });
  assert.equal(seen, [
    { n: 3, grad: true },
    { n: 4, grad: false },
  ]);
  E.backward(r.term);
  assert.ok(student.parameters().some((p) => p.grad !== null));
  student.dispose();
});

test("SA 'published': DINOv2 on raw images; exactly no gradient can reach the UNet", async () => {
  const student = tinyUNet();
  const sa = new E.SaTerm(E.dinov2Embedder(tinyVit(), 28), { mode: 'published', lambda: 0.1 });
  const r = sa.loss(E.unetSaNetwork(student), inputs());
  assert.ok((await r.term.item()) > 0, 'the logged value is a real distance');
  assert.is(r.weighted.requiresGrad, false);
  student.dispose();
});

test('SA refuses a trainable embedder, an unknown mode and a ViT side that is not a multiple of the patch', () => {
  const vit = tinyVit();
  for (const p of vit.parameters()) p.requiresGrad = true;
  assert.throws(() => new E.SaTerm(E.dinov2Embedder(vit, 28), { mode: 'prediction', lambda: 0.1 }), /embedder must be frozen/);
  vit.freeze();
  assert.throws(() => new E.SaTerm(E.dinov2Embedder(vit, 28), { mode: 'other' as E.SaMode, lambda: 0.1 }), /unknown mode 'other'/);
  assert.throws(() => E.dinov2Embedder(vit, 30), /multiple of its 14-pixel patch/);
  vit.dispose();
});

// The design this replaces, kept as a contrast (not used by the trainer): a learned 1×1 projection of
// the UNet's pooled bottleneck compared with DINOv2 embeddings of the real images. With the UNet
// frozen, SGD on the projection alone lowers that term — the "frozen UNet" check above would fail.
test('contrast: the removed learned-projection design is lowered by its head alone, the UNet frozen', async () => {
  const student = tinyUNet();
  for (const p of student.parameters()) p.requiresGrad = false;
  const embedder = E.dinov2Embedder(tinyVit(), 28);
  const head = new E.Conv2d(8, 16, 1, {}, new E.Generator(3));
  const { synthetic, real } = inputs();
  const fReal = E.noGrad(() => embedder.embed(real));
  const term = () => {
    const pooled = E.mean(student.encoder.forward(synthetic)[4], [2, 3], true);
    return E.saLoss(E.reshape(head.forward(pooled), [3, 16]), fReal).loss;
  };
  const before = await E.noGrad(term).item();
  const opt = new E.SGD(head.parameters(), { lr: 0.1 });
  for (let i = 0; i < 20; i++) {
    E.tidy(() => {
      E.backward(term());
      opt.step();
      opt.zeroGrad();
    });
  }
  const after = await E.noGrad(term).item();
  assert.ok(after < 0.8 * before, `the head alone lowers the old term: ${before} → ${after}`);
  head.dispose();
  student.dispose();
});

// Catches a tensor of the step left without an owner — the teacher's forward outside a scope (it ran
// between awaits and leaked its activations: 70 buffers per call here, found by this test), a forward
// branch the loss never reaches (the decoder when 'features' needs only the bottleneck) — live buffers
// would grow with every step.
test('SelfTrainStep.run: live GPU buffers stay flat over steps (both trainable modes and inputs, SA every 2nd step)', async () => {
  for (const [mode, saInput] of [['prediction', 'mixed'], ['prediction', 'unlabeled'], ['features', 'mixed'], ['features', 'unlabeled']] as const) {
    const student = tinyUNet();
    const teacher = E.EmaTeacher.forUNet(student);
    const sa = new E.SaTerm(E.dinov2Embedder(tinyVit(), 28), { mode, lambda: 0.1 });
    const opt = new E.SGD(E.selfTrainParameters(student, sa), { lr: 0.01, momentum: 0.9 });
    const o = { softLoss: true, softLossForm: 'published', largestComponent: true, saInput, saEvery: 2, saSubset: 0 } as const;
    const step = new E.SelfTrainStep(student, teacher, opt, sa, o);
    const gen = new E.Generator(3);
    const half = (cls: number): E.Half => {
      const labels = E.tensor(new Int32Array(2 * 32 * 32).map((_, i) => ((i >> 8) + cls) % 4), [2, 32, 32], 'i32');
      return { image: E.rand([2, 1, 32, 32], gen), labels, onehot: E.oneHot(labels, 4, 1) };
    };
    const batch = { lab: { a: half(0), b: half(1) }, unl: { a: half(2), b: half(3) }, alpha: E.mixingMask(32, 32, new E.SeededRng(1), { blend: 'avgpool3' }).alpha };
    let after2: E.MemoryStats | null = null;
    const logged: number[] = [];
    for (let it = 0; it < 6; it++) {
      const { loss, logs } = await step.run(batch, it);
      await loss.item(); // submits the step, so released buffers are free again
      if (logs.sa) logged.push(it);
      loss.dispose();
      for (const t of Object.values(logs)) t.dispose();
      if (it === 1) after2 = E.memoryStats();
    }
    assert.equal(logged, [0, 2, 4], `${mode}/${saInput}: SA on every 2nd iteration`);
    assert.is(E.memoryStats().liveBuffers, after2!.liveBuffers, `${mode}/${saInput}: live buffers after step 2 vs step 6`);
    E.disposeHalves(batch.lab);
    E.disposeHalves(batch.unl);
    batch.alpha.dispose();
    opt.dispose();
    teacher.dispose();
    student.dispose();
  }
});

test.run();
