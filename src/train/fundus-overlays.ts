// Figures like the paper's Fig. 7 for fundus images: image | prediction | ground truth | errors,
// shrunk from the native resolution to a display size so that a row stays a few hundred KB.
import { join } from 'node:path';
import type { VolumeSample } from '../data/dataset.js';
import { resizeFiltered } from '../data/resample.js';
import type { Canvas } from '../report/canvas.js';
import type { Rgb } from '../report/image.js';
import { segmentationOverlay } from '../report/overlay.js';
import { writePng } from '../report/png.js';

/** Background unused, vessels in green (red marks the errors). */
export const VESSEL_PALETTE: readonly Rgb[] = [
  [0, 0, 0],
  [60, 230, 90],
];

/** One row of panels; the longer side of each becomes `displaySize` pixels (never enlarged). */
export function fundusOverlay(vol: VolumeSample, prediction: Uint8Array, dice: number | null, displaySize = 256): Canvas {
  const factor = Math.min(1, displaySize / Math.max(vol.height, vol.width));
  const h = Math.max(1, Math.round(vol.height * factor));
  const w = Math.max(1, Math.round(vol.width * factor));
  const { canvas } = segmentationOverlay({
    image: resizeFiltered(vol.image, vol.height, vol.width, h, w),
    width: w,
    height: h,
    prediction: shrinkMask(prediction, vol.height, vol.width, h, w),
    groundTruth: shrinkMask(vol.label, vol.height, vol.width, h, w),
    palette: VESSEL_PALETTE,
    alpha: 0.8,
    dice,
  });
  return canvas;
}

/** Writes the row of `fundusOverlay` to `<dir>/<name>.png` and returns the path. */
export function writeFundusOverlay(dir: string, vol: VolumeSample, prediction: Uint8Array, dice: number | null, displaySize = 256): string {
  const path = join(dir, `${vol.name}.png`);
  writePng(path, fundusOverlay(vol, prediction, dice, displaySize));
  return path;
}

/**
 * A display pixel is a vessel where vessels cover at least a third of its area: nearest sampling
 * would cut 1-pixel vessels into dots, a majority vote would erase them.
 */
function shrinkMask(mask: Uint8Array, height: number, width: number, h: number, w: number): Uint8Array {
  const cover = resizeFiltered(mask, height, width, h, w);
  return Uint8Array.from(cover, (v) => +(v >= 1 / 3));
}
