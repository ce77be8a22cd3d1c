import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

const tinyVit = () =>
  new E.Dinov2(
    { embedDim: 16, depth: 1, numHeads: 2, patchSize: 14, pretrainGrid: 2, numRegisters: 0, ffn: 'mlp', ffnHidden: 64, interpolateOffset: 0.1, interpolateAntialias: false, inChannels: 3 },
    5,
  ).freeze();

const absSum = async (t: E.Tensor | null) => (t ? Array.from(await t.data()).reduce((a, b) => a + Math.abs(b), 0) : 0);

test("SA 'features' mode: the loss's gradient reaches the UNet (and the projection)", async () => {
  const student = new E.UNet({ features: [2, 4, 4, 4, 8], dropout: [0, 0, 0, 0, 0], seed: 2 });
  const sa = new E.SaTerm(tinyVit(), 8, { mode: 'features', lambda: 0.1, vitSize: 28 });
  const gen = new E.Generator(7);
  const loss = sa.loss(student, E.rand([2, 1, 32, 32], gen), E.rand([3, 1, 32, 32], gen));
  assert.ok(Number.isFinite(await loss.item()) && (await loss.item()) > 0);
  E.backward(loss);
  assert.ok((await absSum(student.parameters()[0].grad)) > 0, "the first encoder conv receives a gradient");
  assert.ok((await absSum(sa.projection!.weight.grad)) > 0, 'projection receives a gradient');
  for (const p of sa.vit.parameters()) assert.is(p.grad, null, 'the ViT stays frozen');
  student.dispose();
  sa.dispose();
});

test("SA 'prediction' mode: DINOv2 on soft predictions vs one-hot labels; the gradient reaches the UNet through the frozen ViT", async () => {
  const student = new E.UNet({ features: [2, 4, 4, 4, 8], dropout: [0, 0, 0, 0, 0], seed: 2 });
  const sa = new E.SaTerm(tinyVit(), 8, { mode: 'prediction', lambda: 0.1, vitSize: 28 });
  assert.is(sa.projection, null);
  const gen = new E.Generator(7);
  const labels = E.tensor(Int32Array.from({ length: 3 * 32 * 32 }, (_, i) => (i >> 6) % 4), [3, 32, 32], 'i32');
  const loss = sa.loss(student, E.rand([2, 1, 32, 32], gen), E.rand([3, 1, 32, 32], gen), E.oneHot(labels, 4, 1));
  assert.ok((await loss.item()) > 0);
  E.backward(loss);
  assert.ok((await absSum(student.decoder.outConv.weight.grad)) > 0, 'the output conv receives a gradient');
  for (const p of sa.vit.parameters()) assert.is(p.grad, null, 'the ViT stays frozen');
  student.dispose();
  sa.dispose();
});

test("SA 'published' mode: DINOv2 on raw images; exactly no gradient can reach the UNet", async () => {
  const student = new E.UNet({ features: [2, 4, 4, 4, 8], dropout: [0, 0, 0, 0, 0], seed: 2 });
  const sa = new E.SaTerm(tinyVit(), 8, { mode: 'published', lambda: 0.1, vitSize: 28 });
  const gen = new E.Generator(7);
  const loss = sa.loss(student, E.rand([2, 1, 32, 32], gen), E.rand([3, 1, 32, 32], gen));
  assert.ok((await loss.item()) > 0, 'the logged value is a real distance');
  assert.is(loss.requiresGrad, false);
  for (const p of student.parameters()) assert.is(p.grad, null);
  student.dispose();
  sa.dispose();
});

test.run();
