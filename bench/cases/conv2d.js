// conv2d 3×3 (padding 1) at the UNet's shapes, batch 4: forward, input gradient and weight gradient.
// Each case: { name, flops, setup(E) → state, run(E, state), teardown(E, state) }, E = dist/index.js.
import { randomTensor } from '../random-tensor.js';

const SHAPES = [
  // [N, Cin, H, W, Cout]
  [4, 1, 256, 256, 16],
  [4, 16, 256, 256, 16],
  [4, 64, 64, 64, 64],
  [4, 256, 16, 16, 256],
];

function setupFor([n, cin, h, w, cout]) {
  return async (E) => ({
    x: randomTensor(E, [n, cin, h, w], 1),
    w: randomTensor(E, [cout, cin, 3, 3], 2),
    dy: randomTensor(E, [n, cout, h, w], 3),
  });
}

const teardown = (E, s) => {
  for (const t of Object.values(s)) t.dispose();
};

/** The same convolution on tfjs (NHWC, filter [kh, kw, Cin, Cout]); `which` picks the pass. */
function tfjsFor([n, cin, h, w, cout], which) {
  return {
    setup: (tf) => ({ x: tf.randomUniform([n, h, w, cin], -1, 1), f: tf.randomUniform([3, 3, cin, cout], -1, 1), dy: tf.randomUniform([n, h, w, cout], -1, 1) }),
    run: (tf, s) =>
      which === 'forward'
        ? tf.conv2d(s.x, s.f, 1, 'same')
        : which === 'input'
          ? tf.conv2dTranspose(s.dy, s.f, [n, h, w, cin], 1, 'same')
          : tf.engine().runKernel('Conv2DBackpropFilter', { x: s.x, dy: s.dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, cin, cout] }),
    teardown: (tf, s) => Object.values(s).forEach((t) => t.dispose()),
  };
}

const cases = [];
for (const shape of SHAPES) {
  const [n, cin, h, w, cout] = shape;
  const flops = 2 * n * cout * h * w * cin * 9;
  const tag = `[${n},${cin},${h},${w}]→${cout}`;
  const opts = { padding: 1 };
  cases.push(
    { name: `conv2d 3×3 forward ${tag}`, flops, setup: setupFor(shape), teardown, run: (E, s) => E.conv2d(s.x, s.w, null, opts).dispose(), tfjs: tfjsFor(shape, 'forward') },
    { name: `conv2d 3×3 input grad ${tag}`, flops, setup: setupFor(shape), teardown, run: (E, s) => E.conv2dInputGrad(s.dy, s.w, s.x.shape, opts).dispose(), tfjs: tfjsFor(shape, 'input') },
    { name: `conv2d 3×3 weight grad ${tag}`, flops, setup: setupFor(shape), teardown, run: (E, s) => E.conv2dWeightGrad(s.x, s.dy, s.w.shape, opts).dispose(), tfjs: tfjsFor(shape, 'filter') },
  );
}

export default cases;
