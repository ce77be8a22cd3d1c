// Benchmark cases for the matmul family (timed by bench/kernels.js). Each case sets up its inputs
// once; `run` records one forward op and disposes its result.
import { randomTensor } from '../random-tensor.js';

function matmulCase(name, M, K, N, opts = {}) {
  return {
    name,
    flops: 2 * M * K * N,
    bytes: 4 * (M * K + K * N + M * N),
    setup: async (E) => ({ a: randomTensor(E, opts.transA ? [K, M] : [M, K], 1), b: randomTensor(E, opts.transB ? [N, K] : [K, N], 2) }),
    run: (E, s) => E.matmul(s.a, s.b, opts).dispose(),
    teardown: (E, s) => {
      s.a.dispose();
      s.b.dispose();
    },
    tfjs: {
      setup: (tf) => ({ a: tf.randomUniform(opts.transA ? [K, M] : [M, K], -1, 1), b: tf.randomUniform(opts.transB ? [N, K] : [K, N], -1, 1) }),
      run: (tf, s) => tf.matMul(s.a, s.b, Boolean(opts.transA), Boolean(opts.transB)),
      teardown: (tf, s) => Object.values(s).forEach((t) => t.dispose()),
    },
  };
}

/** A UNet-ish linear layer: tokens of a 32×32 feature map, batch 4, 256 → 256 channels, with bias. */
function linearCase(name, rows, inF, outF) {
  return {
    name,
    flops: 2 * rows * inF * outF,
    bytes: 4 * (rows * inF + inF * outF + outF + rows * outF),
    setup: async (E) => ({ x: randomTensor(E, [rows, inF], 3), w: randomTensor(E, [outF, inF], 4), b: randomTensor(E, [outF], 5) }),
    run: (E, s) => E.linear(s.x, s.w, s.b).dispose(),
    teardown: (E, s) => {
      s.x.dispose();
      s.w.dispose();
      s.b.dispose();
    },
    tfjs: {
      setup: (tf) => ({ x: tf.randomUniform([rows, inF], -1, 1), w: tf.randomUniform([outF, inF], -1, 1), b: tf.randomUniform([outF], -1, 1) }),
      run: (tf, s) => tf.add(tf.matMul(s.x, s.w, false, true), s.b),
      teardown: (tf, s) => Object.values(s).forEach((t) => t.dispose()),
    },
  };
}

export default [
  matmulCase('matmul 1024×1024×1024', 1024, 1024, 1024),
  matmulCase('matmul 1024³ Aᵀ·B (weight-gradient layout)', 1024, 1024, 1024, { transA: true }),
  matmulCase('matmul 1024³ A·Bᵀ (input-gradient layout)', 1024, 1024, 1024, { transB: true }),
  linearCase('linear 4096×256 → 256 + bias (UNet 32² tokens, batch 4)', 4 * 32 * 32, 256, 256),
];
