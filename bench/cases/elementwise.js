// Elementwise ops at the UNet's activation size [4, 64, 128, 128]: a unary op, a same-shape binary
// op (direct indexing) and a per-channel broadcast (the strided walk over the coalesced shape).
const SHAPE = [4, 64, 128, 128];
const N = SHAPE.reduce((a, b) => a * b, 1);

const input = (E) => E.keep(E.full(SHAPE, 0.5));

export default [
  {
    name: 'exp [4,64,128,128]',
    bytes: 2 * N * 4,
    setup: async (E) => ({ x: input(E) }),
    run: (E, s) => E.exp(s.x).dispose(),
    teardown: (E, s) => s.x.dispose(),
    tfjs: {
      setup: (tf) => ({ x: tf.fill(SHAPE, 0.5) }),
      run: (tf, s) => tf.exp(s.x),
      teardown: (tf, s) => s.x.dispose(),
    },
  },
  {
    name: 'mul [4,64,128,128] · same shape',
    bytes: 3 * N * 4,
    setup: async (E) => ({ x: input(E), y: input(E) }),
    run: (E, s) => E.mul(s.x, s.y).dispose(),
    teardown: (E, s) => (s.x.dispose(), s.y.dispose()),
    tfjs: {
      setup: (tf) => ({ x: tf.fill(SHAPE, 0.5), y: tf.fill(SHAPE, 0.5) }),
      run: (tf, s) => tf.mul(s.x, s.y),
      teardown: (tf, s) => (s.x.dispose(), s.y.dispose()),
    },
  },
  {
    name: 'add [4,64,128,128] + [1,64,1,1] (broadcast)',
    bytes: 2 * N * 4,
    setup: async (E) => ({ x: input(E), b: E.keep(E.full([1, 64, 1, 1], 0.25)) }),
    run: (E, s) => E.add(s.x, s.b).dispose(),
    teardown: (E, s) => (s.x.dispose(), s.b.dispose()),
    tfjs: {
      // tfjs is NHWC: the per-channel vector broadcasts along the last axis.
      setup: (tf) => ({ x: tf.fill([4, 128, 128, 64], 0.5), b: tf.fill([64], 0.25) }),
      run: (tf, s) => tf.add(s.x, s.b),
      teardown: (tf, s) => (s.x.dispose(), s.b.dispose()),
    },
  },
];
