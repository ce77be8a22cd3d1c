// Image grids: many small images (GAN snapshots, a batch of inputs, rows of overlays) on one canvas.
import { Canvas, WHITE } from './canvas.js';
import { toImage, type Image, type Rgb } from './image.js';

export interface GridOptions {
  /** Images per row; default ⌈√count⌉. */
  columns?: number;
  /** Pixels between cells and around the border. */
  gap?: number;
  background?: Rgb;
  /** Integer enlargement of every image. */
  scale?: number;
}

/** Lays the images out row by row; cells are as large as the largest image, images top-left in them. */
export function imageGrid(images: readonly Image[], options: GridOptions = {}): Canvas {
  if (images.length === 0) throw new Error('imageGrid: no images');
  const columns = options.columns ?? Math.ceil(Math.sqrt(images.length));
  const gap = options.gap ?? 2;
  const scale = options.scale ?? 1;
  const rows = Math.ceil(images.length / columns);
  const cellW = Math.max(...images.map((i) => i.width)) * scale;
  const cellH = Math.max(...images.map((i) => i.height)) * scale;
  const canvas = new Canvas(columns * (cellW + gap) + gap, rows * (cellH + gap) + gap, options.background ?? WHITE);
  images.forEach((img, k) => {
    canvas.draw(img, gap + (k % columns) * (cellW + gap), gap + Math.floor(k / columns) * (cellH + gap), scale);
  });
  return canvas;
}

/**
 * Splits an NCHW batch (C = 1 or 3, as read back from a tensor) into images, mapping `range` to
 * 0..255 — e.g. [-1, 1] for a tanh generator; by default each image's own min..max.
 */
export function imagesFromNchw(data: ArrayLike<number>, shape: readonly number[], range?: readonly [number, number]): Image[] {
  const [n, c, h, w] = shape;
  if (shape.length !== 4 || (c !== 1 && c !== 3) || data.length !== n * c * h * w) {
    throw new Error(`imagesFromNchw: ${data.length} values with shape [${shape.join(', ')}]; need NCHW with C = 1 or 3`);
  }
  const size = c * h * w;
  return Array.from({ length: n }, (_, i) =>
    toImage(Array.prototype.slice.call(data, i * size, (i + 1) * size) as number[], w, h, { channels: c, planar: true, range }),
  );
}
