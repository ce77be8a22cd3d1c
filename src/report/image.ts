// 8-bit raster images, the common currency of the report module: grayscale, RGB or RGBA, row-major,
// channels interleaved. Float data (network inputs, probabilities, GAN outputs) enters through toImage.

export type Rgb = readonly [number, number, number];

export interface Image {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export interface ToImageOptions {
  /** Channels interleaved in `data` (1 by default); planar (CHW) data: set planar. */
  channels?: 1 | 3;
  /** Data laid out channel by channel (C, H, W) as tensors are, instead of interleaved. */
  planar?: boolean;
  /** Value range mapped to 0..255 (clamped); default: the data's own min..max. */
  range?: readonly [number, number];
}

/** Float (or any numeric) data → 8-bit image, linearly mapping `range` to 0..255. */
export function toImage(data: ArrayLike<number>, width: number, height: number, options: ToImageOptions = {}): Image {
  const channels = options.channels ?? 1;
  const n = width * height;
  if (data.length !== n * channels) {
    throw new Error(`toImage: ${data.length} values do not fit ${channels}×${height}×${width}`);
  }
  const [lo, hi] = options.range ?? dataRange(data);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < channels; c++) {
      const v = data[options.planar ? c * n + p : p * channels + c];
      out[p * channels + c] = Math.round(Math.min(255, Math.max(0, (v - lo) * scale)));
    }
  }
  return { width, height, channels, data: out };
}

function dataRange(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** RGB colour of pixel (x, y) of any image (gray repeated, alpha dropped). */
export function rgbAt(img: Image, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * img.channels;
  const d = img.data;
  return img.channels === 1 ? [d[i], d[i], d[i]] : [d[i], d[i + 1], d[i + 2]];
}
