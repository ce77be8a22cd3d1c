// Fundus fixtures written with the same libraries the loaders read with: a synthetic photograph
// (circular FOV, two dark vessels, noise) as PNG/TIFF, masks as GIF, and the DRIVE folder layout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GifWriter } from 'omggif';
import { PNG } from 'pngjs';
import UTIF from 'utif2';
import { rng } from './helpers.js';

/** A synthetic fundus photograph: a circular FOV, two dark "vessels" (rows/columns), noise. */
export function fakeFundus(h: number, w: number, seed: number) {
  const r = rng(seed);
  const rgba = new Uint8Array(h * w * 4);
  const vessel = new Uint8Array(h * w);
  const fov = new Uint8Array(h * w);
  const vr = 2 + Math.floor(r() * (h - 4));
  const vc = 2 + Math.floor(r() * (w - 4));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      fov[i] = +((y - h / 2) ** 2 / (h / 2) ** 2 + (x - w / 2) ** 2 / (w / 2) ** 2 <= 1);
      vessel[i] = +(fov[i] === 1 && (Math.abs(y - vr) <= 1 || x === vc));
      const g = fov[i] ? (vessel[i] ? 60 : 170) + Math.floor(r() * 20) : 5;
      rgba.set([Math.min(255, g + 50), g, Math.floor(g / 3), 255], 4 * i);
    }
  }
  return { rgba, vessel, fov };
}

export const grayRgba = (mask: Uint8Array) => {
  const out = new Uint8Array(mask.length * 4);
  mask.forEach((v, i) => out.set([255 * v, 255 * v, 255 * v, 255], 4 * i));
  return out;
};

export function pngBytes(rgba: Uint8Array, w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png);
}

export function gifBytes(mask: Uint8Array, w: number, h: number): Uint8Array {
  const buf = new Uint8Array(1024 + w * h * 2);
  const writer = new GifWriter(buf, w, h, { palette: [0x000000, 0xffffff] });
  writer.addFrame(0, 0, w, h, Array.from(mask));
  return buf.slice(0, writer.end());
}

export const tiffBytes = (rgba: Uint8Array, w: number, h: number) => new Uint8Array(UTIF.encodeImage(rgba, w, h));

/** DRIVE layout: training/{images/NN_training.tif, 1st_manual/NN_manual1.gif, mask/NN_training_mask.gif}. */
export function writeDriveFixture(root: string, ids: number[], h: number, w: number) {
  for (const d of ['images', '1st_manual', 'mask']) mkdirSync(join(root, 'training', d), { recursive: true });
  const truth = new Map<string, ReturnType<typeof fakeFundus>>();
  for (const id of ids) {
    const f = fakeFundus(h, w, id);
    writeFileSync(join(root, 'training/images', `${id}_training.tif`), tiffBytes(f.rgba, w, h));
    writeFileSync(join(root, 'training/1st_manual', `${id}_manual1.gif`), gifBytes(f.vessel, w, h));
    writeFileSync(join(root, 'training/mask', `${id}_training_mask.gif`), gifBytes(f.fov, w, h));
    truth.set(`${id}_training`, f);
  }
  return truth;
}

