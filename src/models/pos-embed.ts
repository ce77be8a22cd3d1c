// DINOv2's position-embedding resize: the learned [M×M] grid of the pretraining resolution,
// resampled bicubically to the input's patch grid exactly as `interpolate_pos_encoding` in
// facebookresearch/dinov2 (dinov2/models/vision_transformer.py) does it. Two settings exist, fixed
// per model by dinov2/hub/backbones.py:
//   without registers (dinov2_vit*14):   interpolate_offset=0.1, interpolate_antialias=False
//     F.interpolate(grid, scale_factor=((gh + 0.1)/M, (gw + 0.1)/M), mode='bicubic', antialias=False)
//   with registers (dinov2_vit*14_reg):   interpolate_offset=0.0, interpolate_antialias=True
//     F.interpolate(grid, size=(gh, gw), mode='bicubic', antialias=True)
// (Hugging Face's Dinov2WithRegisters does the latter too.) align_corners is False in both. The two
// are different filters, not one with a switch, and differ even when enlarging:
//   plain     Keys cubic a = −0.75, four taps around (o + 0.5)·scale − 0.5, indices clamped to the
//             border (upsample_bicubic2d);
//   antialias PIL's cubic a = −0.5, stretched by the scale when shrinking (support 2·scale, argument
//             divided by scale), every input cell whose centre lies within the support, taps beyond
//             the border dropped and the rest renormalised (_upsample_bicubic2d_aa).
// Both are linear and separable, so the resize is two matmuls with small interpolation matrices
// built here on the CPU: out = Wy · P · Wxᵀ per channel. That keeps it on the GPU and
// differentiable in the embedding.
import { matmul, reshape, ShapeError, tensor, type Tensor } from '../engine/index.js';

/** Keys' cubic convolution kernel with parameter a, at distance |x| (zero from 2 on). */
function cubic(x: number, a: number): number {
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return a * (((x - 5) * x + 8) * x - 4);
  return 0;
}

/** PyTorch's constant for plain bicubic (upsample_bicubic2d). */
const A_PLAIN = -0.75;
/** PyTorch's constant for antialiased bicubic, taken from PIL's Resample.c. */
const A_ANTIALIAS = -0.5;

/**
 * The [outSize, inSize] matrix of a 1-D plain bicubic resize with align_corners=False: source
 * coordinate (o + 0.5)·scale − 0.5 (not clamped, unlike linear modes), four taps at ⌊src⌋−1..⌊src⌋+2
 * with indices clamped to the border. `scale` is 1/scale_factor when a factor is given, else in/out.
 */
export function bicubicMatrix(inSize: number, outSize: number, scale: number): Float32Array {
  const w = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    for (let k = -1; k <= 2; k++) {
      const i = Math.min(Math.max(i0 + k, 0), inSize - 1);
      w[o * inSize + i] += cubic(src - (i0 + k), A_PLAIN);
    }
  }
  return w;
}

/**
 * The [outSize, inSize] matrix of a 1-D antialiased bicubic resize with align_corners=False, as
 * PyTorch's _upsample_bicubic2d_aa (`scale` as in bicubicMatrix). Output o is centred at input
 * coordinate c = (o + 0.5)·scale in cell units; shrinking (scale ≥ 1) stretches the kernel by scale
 * (support 2·scale), enlarging keeps support 2. Input cell j (centre j + 0.5) gets
 * cubic((j + 0.5 − c)/stretch) for j in [trunc(c − support + 0.5), trunc(c + support + 0.5)) ∩
 * [0, inSize) — no clamping: cells past the border are left out — and each row is normalised to sum 1.
 */
export function bicubicAntialiasMatrix(inSize: number, outSize: number, scale: number): Float32Array {
  const w = new Float32Array(outSize * inSize);
  const stretch = scale >= 1 ? scale : 1;
  const support = 2 * stretch;
  for (let o = 0; o < outSize; o++) {
    const c = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(c - support + 0.5), 0);
    const hi = Math.min(Math.trunc(c + support + 0.5), inSize);
    const taps = [];
    for (let j = lo; j < hi; j++) taps.push(cubic((j + 0.5 - c) / stretch, A_ANTIALIAS));
    const total = taps.reduce((s, v) => s + v, 0);
    taps.forEach((v, k) => (w[o * inSize + lo + k] = total !== 0 ? v / total : v));
  }
  return w;
}

/**
 * The patch part of the position embedding, `patchPos` [M·M, D] (row-major grid), resized to
 * [gh·gw, D]. `offset` is DINOv2's `interpolate_offset`, `antialias` its `interpolate_antialias`
 * (0.1 / false for the models without registers, 0 / true for the `_reg` ones).
 */
export function interpolatePatchPositions(patchPos: Tensor, gh: number, gw: number, offset = 0.1, antialias = false): Tensor {
  const op = 'interpolatePatchPositions';
  const [n, d] = patchPos.shape;
  const m = Math.round(Math.sqrt(n));
  if (patchPos.rank !== 2 || m * m !== n) throw new ShapeError(op, 'expects a square grid of positions [M·M, D]', [patchPos.shape]);
  // With an offset PyTorch sizes the output as ⌊M · (g + offset)/M⌋ and samples with 1/factor.
  const factor = (g: number) => (g + offset) / m;
  const outSize = (g: number) => (offset ? Math.floor(m * factor(g)) : g);
  if (outSize(gh) !== gh || outSize(gw) !== gw) throw new ShapeError(op, `offset ${offset} does not land on the ${gh}×${gw} grid`, [patchPos.shape]);
  const scale = (g: number) => (offset ? 1 / factor(g) : m / g);
  const matrix = antialias ? bicubicAntialiasMatrix : bicubicMatrix;
  const wy = tensor(matrix(m, gh, scale(gh)), [gh, m]);
  const wx = tensor(matrix(m, gw, scale(gw)), [gw, m]);
  // Along rows: [gh, M] · [M, M·D]; then along columns per output row: [gw, M] · [gh, M, D].
  const rows = matmul(wy, reshape(patchPos, [m, m * d]));
  const both = matmul(wx, reshape(rows, [gh, m, d]));
  return reshape(both, [gh * gw, d]);
}
