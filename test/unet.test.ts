import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose } from './helpers.js';
import { tempDir } from './fixtures.js';

const GOLDEN = 'test/golden/unet_small.safetensors';

test('full-width UNet has the published 1,813,764 parameters (4 classes) and PyTorch names', () => {
  const net = new E.UNet({ numClasses: 4 });
  assert.is(net.parameterCount(), 1813764);
  const names = [...net.stateDict().keys()];
  for (const k of [
    'encoder.in_conv.conv_conv.0.weight',
    'encoder.in_conv.conv_conv.1.running_var',
    'encoder.in_conv.conv_conv.5.num_batches_tracked',
    'encoder.down1.maxpool_conv.1.conv_conv.4.weight',
    'decoder.up1.conv1x1.weight',
    'decoder.up4.conv.conv_conv.5.bias',
    'decoder.out_conv.bias',
  ]) {
    assert.ok(names.includes(k), `missing ${k}`);
  }
  net.dispose();
  const two = new E.UNet({ numClasses: 2 });
  assert.is(two.parameterCount(), 1813474);
  two.dispose();
});

test('UNet forward and backward match PyTorch (golden file, small widths, train and eval mode)', async () => {
  const { tensors, metadata } = E.loadSafetensors(GOLDEN);
  const features = JSON.parse(metadata.features) as number[];
  // Dropout 0: the random streams of the two engines differ (dropout is tested on its own).
  const net = new E.UNet({ numClasses: Number(metadata.classes), features, dropout: [0, 0, 0, 0, 0] });
  E.loadModuleFromHost(net, tensors, 'param.');
  const get = (k: string) => E.fromHost(tensors.get(k)!, k);

  net.train();
  const x = get('input');
  x.requiresGrad = true;
  const y = net.forward(x);
  // Convolutions summed in another order than PyTorch's: f32, rel 1e-3 / abs 1e-4 through 23 layers.
  assertClose(await y.data(), tensors.get('train.logits')!.data as Float32Array, 1e-3, 1e-4, 'train logits');
  E.backward(y, { grad: get('upstream') });
  assertClose(await x.grad!.data(), tensors.get('train.input_grad')!.data as Float32Array, 2e-3, 2e-4, 'input gradient');
  for (const [name, p] of net.namedParameters()) {
    const want = tensors.get('grad.' + name)!.data as Float32Array;
    // Weight gradients sum over the batch and all pixels: abs tolerance scaled to their magnitude.
    const scale = Math.max(...Array.from(want, Math.abs));
    assertClose(await p.grad!.data(), want, 2e-3, 2e-4 * Math.max(scale, 1), `grad ${name}`);
  }
  for (const [name, b] of net.namedBuffers()) {
    if (!name.includes('running')) continue;
    assertClose(await b.data(), tensors.get('after.' + name)!.data as Float32Array, 1e-4, 1e-5, `updated ${name}`);
  }

  net.eval();
  const z = E.noGrad(() => net.forward(x));
  assertClose(await z.data(), tensors.get('eval.logits')!.data as Float32Array, 1e-3, 1e-4, 'eval logits');
  net.dispose();
});

test('a checkpoint round-trips through safetensors with PyTorch names, and bad keys are listed', async () => {
  const dir = tempDir('unet-ckpt');
  const a = new E.UNet({ features: [2, 4, 4, 4, 4], seed: 1 });
  const b = new E.UNet({ features: [2, 4, 4, 4, 4], seed: 2 });
  await E.saveModule(`${dir}/a.safetensors`, a);
  E.loadModule(`${dir}/a.safetensors`, b);
  const wa = await a.decoder.outConv.weight.data();
  const wb = await b.decoder.outConv.weight.data();
  assertClose(wb, wa, 0, 0, 'loaded weights');
  const c = new E.UNet({ features: [2, 4, 4, 4, 8] });
  assert.throws(() => E.loadModule(`${dir}/a.safetensors`, c), /mismatched shapes: .*encoder\.down4\.maxpool_conv\.1\.conv_conv\.0\.weight: expected \[8, 4, 3, 3\] f32, got \[4, 4, 3, 3\]/);
  a.dispose();
  b.dispose();
  c.dispose();
});

test('decoder concatenations too large for one binding are convolved in batch chunks, with the same result', async () => {
  const features = [2, 4, 4, 4, 4];
  const plain = new E.UNet({ features, dropout: [0, 0, 0, 0, 0], seed: 7 });
  // 2·2·32·32·4 bytes per image at full resolution: a 9 KiB "binding" forces chunks of 1 image there.
  const chunked = new E.UNet({ features, dropout: [0, 0, 0, 0, 0], seed: 8, maxBindingBytes: 9 * 1024 });
  chunked.loadStateDict(plain.stateDict());
  const x = E.rand([3, 1, 32, 32], new E.Generator(3));
  const grads: Float32Array[][] = [];
  const outs: Float32Array[] = [];
  for (const net of [plain, chunked]) {
    const y = net.forward(x);
    outs.push((await y.data()) as Float32Array);
    E.backward(E.sum(E.mul(y, y)));
    grads.push(await Promise.all(net.parameters().map(async (p) => (await p.grad!.data()) as Float32Array)));
  }
  // Same arithmetic in another grouping: f32 rounding only.
  assertClose(outs[1], outs[0], 1e-5, 1e-6, 'logits');
  grads[0].forEach((g, i) => assertClose(grads[1][i], g, 1e-4, 1e-5, `gradient ${i}`));
  plain.dispose();
  chunked.dispose();
});

test('UNet rejects inputs whose size is not a multiple of 16', () => {
  const net = new E.UNet({ features: [2, 4, 4, 4, 4] });
  assert.throws(() => net.forward(E.zeros([1, 1, 40, 40])), /multiples of 16/);
  net.dispose();
});

test.run();
