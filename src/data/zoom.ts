// Nearest-neighbour resize with exactly the sampling of scipy.ndimage.zoom(x, factors, order=0),
// which the published pipelines use to bring every slice to 256×256 (and predictions back):
// output index k reads input index floor(k·(in−1)/(out−1) + 0.5) — the corners of input and output
// are aligned (grid_mode=False), ties round up. Checked against scipy in test/golden/zoom_golden.py.
//
// A scipy quirk reproduced on purpose: k·(in−1)/(out−1) is computed in floating point, and when it
// lands a hair above in−1 (e.g. 256 → 216: 215·(255/215) = 255.00000000000003) scipy's default
// mode='constant' treats the sample as outside and writes 0: the last row or column of the output
// becomes background. The published evaluation zooms predictions back this way, so matching it
// keeps scores comparable; pass edge = 'clamp' to sample the last input row instead.

export type PixelArray = Float32Array | Uint8Array;

/** 'scipy': samples past the input's last index become 0 (as scipy); 'clamp': use the last index. */
export type ZoomEdge = 'scipy' | 'clamp';

/** The input index sampled by each output index along one axis; −1 means "write 0". */
export function nearestZoomIndices(inSize: number, outSize: number, edge: ZoomEdge = 'scipy'): Int32Array {
  if (!(inSize >= 1 && outSize >= 1)) throw new RangeError(`nearestZoomIndices: sizes must be ≥ 1, got ${inSize} → ${outSize}`);
  const idx = new Int32Array(outSize);
  if (outSize === 1) return idx; // scipy maps a single output sample to input 0
  const step = (inSize - 1) / (outSize - 1);
  for (let k = 0; k < outSize; k++) {
    const x = k * step;
    idx[k] = x > inSize - 1 ? (edge === 'scipy' ? -1 : inSize - 1) : Math.floor(x + 0.5);
  }
  return idx;
}

/** Resizes a row-major [height, width] array to [outHeight, outWidth]; returns the same array type. */
export function zoomNearest<T extends PixelArray>(
  src: T,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  edge: ZoomEdge = 'scipy',
): T {
  if (src.length !== height * width) throw new RangeError(`zoomNearest: array has ${src.length} values, [${height}, ${width}] needs ${height * width}`);
  const rows = nearestZoomIndices(height, outHeight, edge);
  const cols = nearestZoomIndices(width, outWidth, edge);
  const out = new (src.constructor as new (n: number) => T)(outHeight * outWidth); // zero-filled
  for (let r = 0; r < outHeight; r++) {
    if (rows[r] < 0) continue;
    const srcRow = rows[r] * width;
    const dstRow = r * outWidth;
    for (let c = 0; c < outWidth; c++) if (cols[c] >= 0) out[dstRow + c] = src[srcRow + cols[c]];
  }
  return out;
}
