// DINOv2's position-embedding resize: the learned [M×M] grid of the pretraining resolution,
// resampled bicubically to the input's patch grid exactly as `interpolate_pos_encoding` in
// facebookresearch/dinov2 (dinov2/models/vision_transformer.py) does it with the hub defaults:
//   F.interpolate(grid, scale_factor=((gh + 0.1)/M, (gw + 0.1)/M), mode='bicubic',
//                 align_corners=False, antialias=False)
// (offset 0: `size=(gh, gw)` instead). A bicubic resize is linear and separable, so it is two
// matmuls with small interpolation matrices built here on the CPU: out = Wy · P · Wxᵀ per channel.
// That keeps it on the GPU and differentiable in the embedding.
import { matmul, reshape, ShapeError, tensor, type Tensor } from '../engine/index.js';

/** PyTorch's cubic convolution constant (upsample_bicubic2d). */
const A = -0.75;

const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

/**
 * The [outSize, inSize] matrix of a 1-D bicubic resize with align_corners=False: source coordinate
 * (o + 0.5)·scale − 0.5 (not clamped, unlike linear modes), four taps at ⌊src⌋−1..⌊src⌋+2 with
 * indices clamped to the border. `scale` is 1/scale_factor when a factor is given, else in/out.
 */
export function bicubicMatrix(inSize: number, outSize: number, scale: number): Float32Array {
  const w = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    const t = src - i0;
    const taps = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    taps.forEach((c, k) => {
      const i = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      w[o * inSize + i] += c;
    });
  }
  return w;
}

/**
 * The patch part of the position embedding, `patchPos` [M·M, D] (row-major grid), resized to
 * [gh·gw, D]. `offset` is DINOv2's `interpolate_offset` (0.1 in every released model).
 */
export function interpolatePatchPositions(patchPos: Tensor, gh: number, gw: number, offset = 0.1): Tensor {
  const op = 'interpolatePatchPositions';
  const [n, d] = patchPos.shape;
  const m = Math.round(Math.sqrt(n));
  if (patchPos.rank !== 2 || m * m !== n) throw new ShapeError(op, 'expects a square grid of positions [M·M, D]', [patchPos.shape]);
  // With an offset PyTorch sizes the output as ⌊M · (g + offset)/M⌋ and samples with 1/factor.
  const factor = (g: number) => (g + offset) / m;
  const outSize = (g: number) => (offset ? Math.floor(m * factor(g)) : g);
  if (outSize(gh) !== gh || outSize(gw) !== gw) throw new ShapeError(op, `offset ${offset} does not land on the ${gh}×${gw} grid`, [patchPos.shape]);
  const scale = (g: number) => (offset ? 1 / factor(g) : m / g);
  const wy = tensor(bicubicMatrix(m, gh, scale(gh)), [gh, m]);
  const wx = tensor(bicubicMatrix(m, gw, scale(gw)), [gw, m]);
  // Along rows: [gh, M] · [M, M·D]; then along columns per output row: [gw, M] · [gh, M, D].
  const rows = matmul(wy, reshape(patchPos, [m, m * d]));
  const both = matmul(wx, reshape(rows, [gh, m, d]));
  return reshape(both, [gh * gw, d]);
}
