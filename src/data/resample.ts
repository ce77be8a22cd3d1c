// Resizing float images with filtering, for inputs that must not alias (fundus photographs shrunk
// from 565–2048 pixels to 256: nearest sampling would break thin vessels into dots at random):
//  - shrinking: area averaging — each output pixel is the mean of the input area it covers, partial
//    pixels weighted by their overlap (PIL's BOX filter, OpenCV's INTER_AREA);
//  - enlarging: bilinear with pixel centres aligned (align_corners = False, edges clamped), as
//    torch.nn.functional.interpolate(mode='bilinear') and OpenCV's INTER_LINEAR.
// Each axis is handled on its own (both filters are separable), so a resize is two passes of sparse
// per-output weight lists.

interface Taps {
  /** First input index read by each output index. */
  start: Int32Array;
  /** weights[k] lists the weights of inputs start[k], start[k] + 1, … */
  weights: Float64Array[];
}

/** Area weights when shrinking (or keeping) the axis, linear interpolation weights when enlarging it. */
export function axisTaps(inSize: number, outSize: number): Taps {
  if (!(Number.isInteger(inSize) && Number.isInteger(outSize) && inSize >= 1 && outSize >= 1)) {
    throw new RangeError(`axisTaps: sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  const scale = inSize / outSize;
  for (let k = 0; k < outSize; k++) {
    if (scale >= 1) {
      const lo = k * scale;
      const hi = (k + 1) * scale;
      const first = Math.floor(lo);
      const last = Math.min(inSize - 1, Math.ceil(hi) - 1);
      const w = new Float64Array(last - first + 1);
      for (let i = first; i <= last; i++) w[i - first] = (Math.min(hi, i + 1) - Math.max(lo, i)) / scale;
      start[k] = first;
      weights.push(w);
    } else {
      const x = Math.min(Math.max((k + 0.5) * scale - 0.5, 0), inSize - 1);
      const i0 = Math.min(Math.floor(x), inSize - 2);
      if (i0 < 0) {
        // A 1-pixel axis: every output copies it.
        start[k] = 0;
        weights.push(Float64Array.of(1));
      } else {
        start[k] = i0;
        weights.push(Float64Array.of(1 - (x - i0), x - i0));
      }
    }
  }
  return { start, weights };
}

/** Resizes a row-major [height, width] image to [outHeight, outWidth] (area down, bilinear up). */
export function resizeFiltered(src: ArrayLike<number>, height: number, width: number, outHeight: number, outWidth: number): Float32Array {
  if (src.length !== height * width) throw new RangeError(`resizeFiltered: ${src.length} values, [${height}, ${width}] needs ${height * width}`);
  const cols = axisTaps(width, outWidth);
  const rows = axisTaps(height, outHeight);
  // Pass 1: along rows (width), in float64 so that the two passes round once.
  const mid = new Float64Array(height * outWidth);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < outWidth; c++) {
      const w = cols.weights[c];
      let s = 0;
      for (let t = 0; t < w.length; t++) s += w[t] * src[r * width + cols.start[c] + t];
      mid[r * outWidth + c] = s;
    }
  }
  const out = new Float32Array(outHeight * outWidth);
  for (let r = 0; r < outHeight; r++) {
    const w = rows.weights[r];
    for (let c = 0; c < outWidth; c++) {
      let s = 0;
      for (let t = 0; t < w.length; t++) s += w[t] * mid[(rows.start[r] + t) * outWidth + c];
      out[r * outWidth + c] = s;
    }
  }
  return out;
}
