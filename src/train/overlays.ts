// PNG overlays like the paper's Fig. 6 for one slice of a predicted volume: image, prediction, ground
// truth and wrong pixels in red, with the slice's mean foreground Dice in the corner; without a
// ground truth (segment), image and prediction.
import { join } from 'node:path';
import type { VolumeSample } from '../data/dataset.js';
import { dice } from '../metrics/binary.js';
import { zoomNearest } from '../data/zoom.js';
import { classPalette, segmentationOverlay } from '../report/overlay.js';
import { writePng } from '../report/png.js';

/** The slice with the most ground-truth foreground (the most informative one to show). */
export function busiestSlice(vol: Pick<VolumeSample, 'label' | 'depth' | 'height' | 'width'>): number {
  const plane = vol.height * vol.width;
  let best = 0;
  let bestCount = -1;
  for (let z = 0; z < vol.depth; z++) {
    let n = 0;
    for (let i = z * plane; i < (z + 1) * plane; i++) if (vol.label[i]) n++;
    if (n > bestCount) [best, bestCount] = [z, n];
  }
  return best;
}

/** Mean Dice over the foreground classes present in either map (null when none is). */
export function sliceDice(pred: Uint8Array, gt: Uint8Array, numClasses: number): number | null {
  const scores: number[] = [];
  for (let c = 1; c < numClasses; c++) {
    const d = dice(Array.from(pred, (v) => v === c), Array.from(gt, (v) => v === c));
    if (d !== null) scores.push(d);
  }
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
}

export function writeSliceOverlay(dir: string, vol: VolumeSample, pred: Uint8Array, z: number, numClasses: number, scale = 2): string {
  const plane = vol.height * vol.width;
  const p = pred.subarray(z * plane, (z + 1) * plane);
  const g = vol.label.subarray(z * plane, (z + 1) * plane);
  const { canvas } = segmentationOverlay({
    image: vol.image.subarray(z * plane, (z + 1) * plane),
    width: vol.width,
    height: vol.height,
    prediction: p,
    groundTruth: g,
    dice: sliceDice(p, g, numClasses),
    scale,
  });
  const path = join(dir, `${vol.name}_slice${z}.png`);
  writePng(path, canvas);
  return path;
}

/** Largest side of an overlay panel: bigger images (FIVES is 2048²) are shown shrunk (nearest). */
const MAX_PANEL = 1024;

/**
 * Image | prediction for the slice with the most predicted foreground, as `<dir>/<name>_overlay.png`
 * (small images enlarged to about 256 pixels, large ones shrunk to MAX_PANEL). Returns the path.
 */
export function writePredictionOverlay(
  dir: string,
  name: string,
  vol: Pick<VolumeSample, 'image' | 'depth' | 'height' | 'width'>,
  pred: Uint8Array,
  numClasses: number,
): string {
  const { height, width } = vol;
  const plane = height * width;
  const z = busiestSlice({ ...vol, label: pred });
  let image: Float32Array = vol.image.subarray(z * plane, (z + 1) * plane);
  let prediction = pred.subarray(z * plane, (z + 1) * plane);
  const shrink = Math.min(1, MAX_PANEL / Math.max(height, width));
  const [h, w] = [Math.max(1, Math.round(height * shrink)), Math.max(1, Math.round(width * shrink))];
  if (shrink < 1) {
    image = zoomNearest(image, height, width, h, w, 'clamp');
    prediction = zoomNearest(prediction, height, width, h, w, 'clamp');
  }
  const scale = Math.max(1, Math.floor(256 / Math.max(h, w)));
  const { canvas } = segmentationOverlay({ image, width: w, height: h, prediction, palette: classPalette(numClasses), scale, textScale: Math.min(scale, 2) });
  const path = join(dir, `${name}_overlay.png`);
  writePng(path, canvas);
  return path;
}
