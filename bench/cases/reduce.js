// A large reduction (sum of 16M floats) and a per-channel one at the UNet's BatchNorm shape.
const N = 1 << 24;

export default [
  {
    name: 'sum 16M → 1',
    bytes: N * 4,
    setup: async (E) => ({ x: E.keep(E.full([N], 0.5)) }),
    run: (E, s) => E.tidy(() => E.sum(s.x)),
    teardown: (E, s) => s.x.dispose(),
    tfjs: {
      setup: (tf) => ({ x: tf.fill([N], 0.5) }),
      run: (tf, s) => tf.sum(s.x),
      teardown: (tf, s) => s.x.dispose(),
    },
  },
  {
    name: 'sum [4,16,256,256] over N,H,W',
    bytes: 4 * 16 * 256 * 256 * 4,
    setup: async (E) => ({ x: E.keep(E.full([4, 16, 256, 256], 0.5)) }),
    run: (E, s) => E.tidy(() => E.sum(s.x, [0, 2, 3])),
    teardown: (E, s) => s.x.dispose(),
    tfjs: {
      // tfjs is NHWC: the same reduction is over axes 0,1,2.
      setup: (tf) => ({ x: tf.fill([4, 256, 256, 16], 0.5) }),
      run: (tf, s) => tf.sum(s.x, [0, 1, 2]),
      teardown: (tf, s) => s.x.dispose(),
    },
  },
];
