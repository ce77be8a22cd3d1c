import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, read } from './helpers.js';

// Fixtures from test/golden/generate_vit.py (PyTorch 1.13): width 32, 2 blocks, 2 heads, patch 14,
// 2 registers, 4×4 pretraining grid; input [2, 3, 28, 42] (a 2×3 grid).
const HUB = 'test/golden/vit_tiny_hub.pth';
const HF = 'test/golden/vit_tiny_hf.safetensors';
const IO = E.loadSafetensors('test/golden/vit_tiny_io.safetensors').tensors;
const golden = (name: string) => Float64Array.from(IO.get(name)!.data as Float32Array);
const HEADS = 2; // 32 wide is not a multiple of DINOv2's head width 64: shapes cannot tell
// generate_vit.py resampled this registers model with the no-register rule (offset 0.1, no
// antialiasing), which loading would not infer for a checkpoint with register tokens: say so.
const AS_GENERATED = { numHeads: HEADS, interpolateOffset: 0.1, interpolateAntialias: false };

/** Rows [from, to) of the token axis of x_prenorm [B, T, D], flattened as [B, to − from, D]. */
function tokens(from: number, to: number): Float64Array {
  const [b, t, d] = IO.get('x_prenorm')!.shape;
  const all = golden('x_prenorm');
  const out: number[] = [];
  for (let i = 0; i < b; i++) out.push(...all.subarray((i * t + from) * d, (i * t + to) * d));
  return Float64Array.from(out);
}

test('loadDinov2 infers the configuration from the tensors (hub .pth and Hugging Face safetensors)', () => {
  for (const path of [HUB, HF]) {
    const model = E.loadDinov2(path, { numHeads: HEADS });
    const c = model.config;
    assert.equal([c.embedDim, c.depth, c.numHeads, c.patchSize, c.pretrainGrid, c.numRegisters, c.ffn, c.ffnHidden], [32, 2, 2, 14, 4, 2, 'mlp', 128], path);
    assert.ok(model.parameters().every((p) => !p.requiresGrad), 'weights are frozen');
    model.dispose();
  }
  assert.throws(() => E.loadDinov2(HUB), /numHeads/);
});

for (const [path, format] of [[HUB, 'torch-hub .pth'], [HF, 'Hugging Face safetensors']]) {
  test(`DINOv2 forward matches PyTorch, weights from the ${format}`, async () => {
    const model = E.loadDinov2(path, AS_GENERATED);
    const io = IO.get('input')!;
    const x = E.tensor(io.data as Float32Array, io.shape);
    const y = model.forward(x);
    assert.equal(y.grid, [2, 3]);
    // f32 through 2 blocks of O(1) activations: PyTorch's and our summation orders differ ~1e-6;
    // 1e-4 relative + 1e-4 absolute leaves room for GELU/erf and exp approximations.
    assertClose(await read(y.clsToken), tokens(0, 1), 1e-4, 1e-4, 'CLS token (prenorm)');
    assertClose(await read(y.registerTokens), tokens(1, 3), 1e-4, 1e-4, 'register tokens (prenorm)');
    assertClose(await read(y.patchTokens), tokens(3, 9), 1e-4, 1e-4, 'patch tokens (prenorm)');
    assertClose(await read(y.xNormClsToken), golden('x_norm_clstoken'), 1e-4, 1e-4, 'x_norm_clstoken');
    assertClose(await read(y.xNormRegTokens), golden('x_norm_regtokens'), 1e-4, 1e-4, 'x_norm_regtokens');
    assertClose(await read(y.xNormPatchTokens), golden('x_norm_patchtokens'), 1e-4, 1e-4, 'x_norm_patchtokens');
    assertClose(await read(y.pooled), golden('x_norm_clstoken'), 1e-4, 1e-4, "pooled ('cls')");
    model.dispose();
  });
}

test('DINOv2 with a SwiGLU feed-forward (ViT-g style) matches PyTorch, both weight formats', async () => {
  const io = E.loadSafetensors('test/golden/vit_tiny_swiglu_io.safetensors').tensors;
  const want = (name: string) => Float64Array.from(io.get(name)!.data as Float32Array);
  for (const path of ['test/golden/vit_tiny_swiglu_hub.pth', 'test/golden/vit_tiny_swiglu_hf.safetensors']) {
    // 16 wide: one head of 16.
    const model = E.loadDinov2(path, { numHeads: 1 });
    assert.equal([model.config.ffn, model.config.ffnHidden, model.config.numRegisters], ['swiglu', 48, 0], path);
    const x = E.tensor(io.get('input')!.data as Float32Array, io.get('input')!.shape);
    const y = model.forward(x, 'clsPatchMean');
    assert.equal(y.grid, [3, 2]);
    assertClose(await read(y.xNormClsToken), want('x_norm_clstoken'), 1e-4, 1e-4, `${path} x_norm_clstoken`);
    assertClose(await read(y.xNormPatchTokens), want('x_norm_patchtokens'), 1e-4, 1e-4, `${path} x_norm_patchtokens`);
    // Pooled: [CLS, mean of the 6 normalised patch tokens].
    const patches = want('x_norm_patchtokens');
    const meanPatch = Array.from({ length: 16 }, (_, d) => [0, 1, 2, 3, 4, 5].reduce((s, p) => s + patches[p * 16 + d], 0) / 6);
    assertClose(await read(y.pooled), [...want('x_norm_clstoken'), ...meanPatch], 1e-4, 1e-4, `${path} pooled clsPatchMean`);
    model.dispose();
  }
});

test("position embeddings are resampled as DINOv2's interpolate_pos_encoding (bicubic, offset 0.1)", async () => {
  const model = E.loadDinov2(HUB, AS_GENERATED);
  for (const [gh, gw] of [[2, 3], [5, 7]]) {
    const pos = model.positions(gh, gw, gh * 14, gw * 14);
    // A resize is a weighted sum of 16 taps: f32 rounding only.
    assertClose(await read(pos), golden(`pos_embed_${gh}x${gw}`), 1e-5, 1e-6, `pos_embed ${gh}×${gw}`);
  }
  // The stored grid is used as is for a square image on the pretraining grid.
  assert.is(model.positions(4, 4, 56, 56), model.posEmbed);
  model.dispose();
});

test('bicubicMatrix rows sum to 1 and reproduce the identity at scale 1', () => {
  const w = E.bicubicMatrix(5, 3, 5 / 3.1);
  for (let r = 0; r < 3; r++) assert.ok(Math.abs(w.subarray(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  const id = E.bicubicMatrix(4, 4, 1);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(id[i] - (i % 5 === 0 ? 1 : 0)) < 1e-7);
});

test('loading lists missing, unexpected and mis-shaped tensors; a missing file is a clear error', () => {
  const state = E.readDinov2State(HUB);
  state.delete('blocks.1.ls2.gamma');
  state.set('blocks.0.attn.extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  state.set('norm.bias', { dtype: 'F32', shape: [31], data: new Float32Array(31) });
  try {
    E.dinov2FromState(state, { numHeads: HEADS }, 'edited');
    assert.unreachable('should have thrown');
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, /missing keys: blocks\.1\.ls2\.gamma/);
    assert.match(msg, /unexpected keys: blocks\.0\.attn\.extra/);
    assert.match(msg, /norm\.bias: expected \[32\] f32, got \[31\]/);
  }
  assert.throws(() => E.loadDinov2('no/such/dinov2_vitb14_pretrain.pth'), /DINOv2 weights not found: no\/such/);
});

test('Hugging Face names map onto the hub names (q, k, v concatenated into qkv)', () => {
  const hub = E.readDinov2State(HUB);
  const hf = E.readDinov2State(HF);
  assert.equal([...hf.keys()].sort(), [...hub.keys()].sort());
  const a = hub.get('blocks.1.attn.qkv.weight')!;
  const b = hf.get('blocks.1.attn.qkv.weight')!;
  assert.equal(b.shape, a.shape);
  assert.ok((a.data as Float32Array).every((v, i) => v === b.data[i]));
});

test('gradients reach the input through a frozen ViT (finite differences, tiny config)', async () => {
  const config: E.Dinov2Config = {
    embedDim: 8, depth: 1, numHeads: 2, patchSize: 2, pretrainGrid: 2, numRegisters: 1,
    ffn: 'swiglu', ffnHidden: 8, interpolateOffset: 0.1, interpolateAntialias: false, inChannels: 3,
  };
  const model = new E.Dinov2(config, 3).freeze();
  // Input 4×6 → a 2×3 grid, so the resampled position embeddings are part of the path too.
  await gradCheck((x) => model.forward(x, 'clsPatchMean').pooled, [{ shape: [1, 3, 4, 6] }], { what: 'ViT input', h: 1e-2, rtol: 3e-2, atol: 3e-3 });
  assert.ok(model.parameters().every((p) => p.grad === null), 'frozen weights get no gradient');
  assert.throws(() => model.forward(E.zeros([1, 3, 4, 5])), /Dinov2.*multiples of the 2-pixel patch/);
  model.dispose();
});

test('preprocessDinov2: one channel → three, resize, ImageNet normalisation', async () => {
  const x = E.full([2, 1, 5, 7], 0.5);
  const y = E.preprocessDinov2(x, { size: [28, 14] });
  assert.equal([...y.shape], [2, 3, 28, 14]);
  const v = await read(y);
  const want = new Float64Array(v.length).map((_, i) => (0.5 - E.IMAGENET_MEAN[Math.floor(i / (28 * 14)) % 3]) / E.IMAGENET_STD[Math.floor(i / (28 * 14)) % 3]);
  // A constant image resizes to itself; then one subtraction and one division in f32.
  assertClose(v, want, 1e-6, 1e-6, 'normalised constant image');
  assert.equal([...E.preprocessDinov2(x, { size: null }).shape], [2, 3, 5, 7]);
});

test.run();
