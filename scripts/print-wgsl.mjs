// Print the assembled WGSL of kernels: every kernel family runs once on tiny tensors (forward and
// backward), and each kernel whose cache key contains the substring is printed when it is compiled —
// the generated declarations, the prelude and the kernel with its slots filled, exactly what the GPU
// gets. Build first (`node build.mjs`).
//
//   node scripts/print-wgsl.mjs <key substring>    e.g. attention:forward, conv2d:rowsForward, matmul
//   node scripts/print-wgsl.mjs --list             the cache keys the tour compiles
//   SRASEG_GPU_KERNELS=1 node scripts/print-wgsl.mjs …   the same with the GPU-shaped kernels (conv2d:gemm,
//                                                  matmul:tiled, attention:*Tiled) where they exist
//
// Inside any program, SRASEG_PRINT_WGSL=<key substring> ('*' for all) prints the same to stderr, for
// the kernels (and shapes) that program runs.
const arg = process.argv[2];
if (!arg || arg === '--help') {
  console.log('usage: node scripts/print-wgsl.mjs <kernel key substring> | --list');
  process.exit(arg ? 0 : 1);
}
const list = arg === '--list';
process.env.SRASEG_PRINT_WGSL = list ? '*' : arg;

// The pipeline cache prints through console.error; in list mode keep only the keys.
const keys = [];
if (list) {
  console.error = (text) => {
    const m = /^\n\/\/ ===== WGSL for kernel '([^']+)' =====/.exec(String(text));
    if (m) keys.push(m[1]);
  };
}

const E = await import(new URL('../dist/index.js', import.meta.url).href);
await E.init({ quiet: true });

const t = (shape, seed = 1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return E.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3)), shape);
};
const param = (shape, seed) => {
  const x = t(shape, seed);
  x.requiresGrad = true;
  return x;
};
/** y's gradient with respect to `inputs` (runs the backward kernels). */
const grads = (y, inputs) => E.grad(E.sum(y), inputs);

E.tidy(() => {
  // elementwise, reduce, layout
  const a = param([2, 3, 4, 5], 1);
  const b = t([1, 3, 1, 1], 2);
  grads(E.mul(E.exp(E.add(a, b)), E.where(E.greater(a, b), a, b)), [a]);
  E.cast(E.full([4], 3, 'i32'), 'f32');
  E.argmax(a, 1);
  grads(E.mean(E.max(E.concat([E.permute(a, [0, 2, 1, 3]), E.pad(E.permute(a, [0, 2, 1, 3]), [0, 0, 0, 0], [0, 0, 0, 0])], 1), 3)), [a]);
  // matmul, linear, softmax, cross-entropy
  const m = param([2, 5, 8], 3);
  const w = param([6, 8], 4);
  grads(E.logSoftmax(E.softmax(E.linear(m, w), -1), -1), [m, w]);
  grads(E.matmul(m, m, { transB: true }), [m]);
  const scores = param([2, 4, 3, 3], 5);
  grads(E.softCrossEntropy(scores, E.oneHot(E.tensor(new Int32Array(18).fill(1), [2, 3, 3], 'i32'), 4)), [scores]);
  // convolution: padded-row path, direct strided / dilated, transposed, its gradients
  const x = param([1, 8, 9, 9], 6);
  const k = param([8, 8, 3, 3], 7);
  grads(E.conv2d(x, k, null, { padding: 1 }), [x, k]);
  const x8 = param([1, 8, 8, 8], 17);
  grads(E.conv2d(x8, k, E.full([8], 0.5), { padding: 1 }), [x8, k]);
  grads(E.conv2d(x, k, null, { stride: 2, padding: 1 }), [x, k]);
  grads(E.conv2d(x, k, null, { dilation: 2, stride: 2 }), [x, k]);
  grads(E.convTranspose2d(x, k, null, { stride: 2 }), [x, k]);
  // pooling, resizing, normalisation
  grads(E.add(E.maxPool2d(x, 2), E.avgPool2d(x, 2)), [x]);
  grads(E.add(E.resizeBilinear(x, [5, 7]), E.resizeNearest(x, [5, 7])), [x]);
  grads(E.batchNorm2d(x, E.full([8], 1), E.full([8], 0), E.full([8], 0), E.full([8], 1), { training: true }), [x]);
  grads(E.layerNorm(m, null, null), [m]);
  // attention
  const q = param([1, 2, 7, 8], 8);
  grads(E.attention(q, q, q), [q]);
  // random numbers
  E.randn([9]);
  E.rand([9]);
  E.bernoulliMask([9], 0.3);
  E.dropout(t([9], 9), 0.5, true);
  // SRA-Seg's losses and blend
  const logits = param([2, 3, 4, 4], 10);
  grads(E.softSegLoss(logits, E.softmax(t([2, 3, 4, 4], 11), 1)).loss, [logits]);
  const f = param([3, 5], 12);
  E.backward(E.saLoss(f, t([4, 5], 13)).loss);
  grads(E.blend(logits, t([2, 3, 4, 4], 14), E.full([1, 1, 4, 4], 0.3)), [logits]);
  // StyleGAN2's ops
  grads(E.upfirdn2d(x, E.setupFilter([1, 3, 3, 1]), { up: 2 }), [x]);
  grads(E.upfirdn2d(x, E.full([9, 9], 1 / 81)), [x]);
  const styles = param([2, 8], 15);
  grads(E.modulateWeights(k, styles), [k, styles]);
  grads(E.biasAct(x, E.full([8], 0.1), { act: 'lrelu' }), [x]);
  const theta = E.tensor([1, 0, 0, 0, 1, 0], [1, 2, 3]);
  grads(E.gridSample(x, E.affineGrid(theta, [1, 8, 5, 5])), [x]);
  grads(E.reflectPad2d(x, [1, 2, 1, 2]), [x]);
  // optimisers
  const p = t([16], 16);
  E.sgdUpdate(p, t([16], 17), null, { lr: 0.1 });
  E.adamUpdate(p, t([16], 18), E.full([16], 0), E.full([16], 0), { lr: 0.1, step: 1 });
  E.emaUpdate(p, t([16], 19), 0.9);
});
await E.sync();
await E.shutdown();
if (list) console.log([...new Set(keys)].sort().join('\n'));
