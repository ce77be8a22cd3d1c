// An RGB drawing surface for reports: rectangles, lines, text (font.ts) and pasting other images.
// Drawing outside the canvas is clipped silently, so callers can draw without bounds arithmetic.
import { rasterizeText } from './font.js';
import { rgbAt, type Image, type Rgb } from './image.js';

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

export class Canvas implements Image {
  readonly channels = 3 as const;
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new Error(`Canvas: bad size ${width}×${height}`);
    }
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  set(x: number, y: number, colour: Rgb): void {
    this.blend(x, y, colour, 1);
  }

  get(x: number, y: number): [number, number, number] {
    return rgbAt(this, x, y);
  }

  /** Mixes `colour` into pixel (x, y) with weight alpha ∈ [0, 1]. */
  blend(x: number, y: number, colour: Rgb, alpha: number): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    for (let c = 0; c < 3; c++) this.data[i + c] = Math.round(this.data[i + c] * (1 - alpha) + colour[c] * alpha);
  }

  fillRect(x: number, y: number, w: number, h: number, colour: Rgb): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.set(xx, yy, colour);
    }
  }

  strokeRect(x: number, y: number, w: number, h: number, colour: Rgb): void {
    this.fillRect(x, y, w, 1, colour);
    this.fillRect(x, y + h - 1, w, 1, colour);
    this.fillRect(x, y, 1, h, colour);
    this.fillRect(x + w - 1, y, 1, h, colour);
  }

  /** A straight line of the given thickness (square pen), by stepping along the longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, colour: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const lo = -Math.floor((thickness - 1) / 2);
    for (let s = 0; s <= steps; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      for (let a = lo; a < lo + thickness; a++) for (let b = lo; b < lo + thickness; b++) this.set(x + a, y + b, colour);
    }
  }

  text(text: string, x: number, y: number, colour: Rgb = BLACK, scale = 1, vertical = false): void {
    rasterizeText(text, x, y, scale, vertical, (px, py) => this.set(px, py, colour));
  }

  /** Pastes `img` with its top-left corner at (x, y), each pixel enlarged to scale×scale. */
  draw(img: Image, x: number, y: number, scale = 1): void {
    for (let sy = 0; sy < img.height; sy++) {
      for (let sx = 0; sx < img.width; sx++) {
        const colour = rgbAt(img, sx, sy);
        this.fillRect(x + sx * scale, y + sy * scale, scale, scale, colour);
      }
    }
  }
}
