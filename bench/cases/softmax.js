// Softmax over the class axis of a segmentation output, and over rows of a ViT-sized attention map.
export default [
  {
    name: 'softmax [24,4,256,256] over classes (axis 1)',
    bytes: 2 * 24 * 4 * 256 * 256 * 4,
    setup: async (E) => ({ x: E.keep(E.rand([24, 4, 256, 256])) }),
    run: (E, s) => E.softmax(s.x, 1).dispose(),
    teardown: (E, s) => s.x.dispose(),
    tfjs: {
      // tfjs's softmax is over the last axis: NHWC puts the classes there.
      setup: (tf) => ({ x: tf.randomUniform([24, 256, 256, 4]) }),
      run: (tf, s) => tf.softmax(s.x),
      teardown: (tf, s) => s.x.dispose(),
    },
  },
  {
    name: 'softmax [12·12·257, 257] rows (ViT-B attention)',
    bytes: 2 * 144 * 257 * 257 * 4,
    setup: async (E) => ({ x: E.keep(E.rand([144 * 257, 257])) }),
    run: (E, s) => E.softmax(s.x, -1).dispose(),
    teardown: (E, s) => s.x.dispose(),
    tfjs: {
      setup: (tf) => ({ x: tf.randomUniform([144 * 257, 257]) }),
      run: (tf, s) => tf.softmax(s.x),
      teardown: (tf, s) => s.x.dispose(),
    },
  },
];
