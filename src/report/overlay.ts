// Segmentation figures in the style of the paper's Fig. 6: one row of panels
//   image (grayscale) | prediction over the image | ground truth over the image | errors in red
// with the Dice written in the prediction panel's corner. Rows of several cases or methods can be
// stacked with imageGrid (grid.ts). Without a ground truth (segmenting new data) the row is
// image | prediction.
import { BLACK, Canvas, WHITE } from './canvas.js';
import { textHeight, textWidth } from './font.js';
import { toImage, type Image, type Rgb } from './image.js';

/** Class colours for ACDC, index = class: background (unused), RV, Myo, LV. Red is kept for errors. */
export const ACDC_PALETTE: readonly Rgb[] = [
  [0, 0, 0],
  [40, 120, 255],
  [40, 200, 60],
  [255, 220, 0],
];
export const ERROR_COLOUR: Rgb = [255, 0, 0];

/** Further class colours after ACDC's (none of them red, which marks errors). */
const MORE_COLOURS: readonly Rgb[] = [
  [230, 60, 230],
  [0, 220, 220],
  [255, 140, 0],
  [140, 80, 255],
  [150, 100, 40],
  [255, 150, 200],
  [130, 170, 0],
  [0, 140, 140],
];

/** Overlay colours for classes 0..n−1 (0 unused): ACDC's, then distinct hues; vessels (2 classes) green. */
export function classPalette(numClasses: number): Rgb[] {
  if (numClasses === 2) return [[0, 0, 0], [60, 230, 90]];
  const out: Rgb[] = [...ACDC_PALETTE, ...MORE_COLOURS].slice(0, numClasses);
  // Past the fixed list: hues a golden angle apart, at full saturation.
  for (let c = out.length; c < numClasses; c++) out.push(hue((c * 137.508) % 360));
  return out;
}

/**
 * Palette of label-map files (indexed PNG): black background; 2 classes → white foreground, so the
 * file also reads as an ordinary binary mask (DRIVE/FIVES-style); more → the overlay colours.
 */
export function labelFilePalette(numClasses: number): Rgb[] {
  const binary: Rgb[] = [
    [0, 0, 0],
    [255, 255, 255],
  ];
  return numClasses <= 2 ? binary : classPalette(numClasses);
}

function hue(h: number): Rgb {
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

export interface OverlayInput {
  /** Intensities, row-major height×width (any range: shown min..max unless `range` is given). */
  image: ArrayLike<number>;
  width: number;
  height: number;
  /** Label maps, row-major height×width, 0 = background. */
  prediction: ArrayLike<number>;
  /** Without one the row is image | prediction. */
  groundTruth?: ArrayLike<number>;
  range?: readonly [number, number];
  palette?: readonly Rgb[];
  /** Opacity of the class colours over the image (0.5 by default). */
  alpha?: number;
  /** Written as "DICE 87.62%" in the prediction panel when given (a fraction in [0, 1]). */
  dice?: number | null;
  /** Integer enlargement of every panel (nearest neighbour), so that small images stay legible. */
  scale?: number;
  /** Size of titles and the Dice label in font pixels (default: `scale`, so text grows with the panels). */
  textScale?: number;
  /** Panel titles above the row; pass [] for none. */
  titles?: readonly string[];
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Overlay {
  canvas: Canvas;
  /** Where each panel landed: image, prediction, ground truth, errors (the first two without a ground truth). */
  panels: Rect[];
}

const GAP = 4;
const TEXT_MARGIN = 3;

export function segmentationOverlay(input: OverlayInput): Overlay {
  const { width, height, prediction, groundTruth } = input;
  const n = width * height;
  if (input.image.length !== n || prediction.length !== n || (groundTruth && groundTruth.length !== n)) {
    throw new Error(`segmentationOverlay: image ${input.image.length}, prediction ${prediction.length}, ground truth ${groundTruth?.length ?? '–'} values; ${height}×${width} needs ${n}`);
  }
  const scale = input.scale ?? 1;
  const palette = input.palette ?? ACDC_PALETTE;
  const alpha = input.alpha ?? 0.5;
  const ts = input.textScale ?? scale;
  const titles = input.titles ?? (groundTruth ? ['IMAGE', 'PREDICTION', 'GROUND TRUTH', 'ERRORS'] : ['IMAGE', 'PREDICTION']);

  const gray = toImage(input.image, width, height, { range: input.range });
  const colourOf = (labels: ArrayLike<number>) => (i: number) => (labels[i] > 0 ? palette[labels[i]] ?? ERROR_COLOUR : null);
  const panelsImages: Image[] = [gray, tint(gray, colourOf(prediction), alpha)];
  if (groundTruth) {
    panelsImages.push(tint(gray, colourOf(groundTruth), alpha), tint(gray, (i) => (prediction[i] !== groundTruth[i] ? ERROR_COLOUR : null), 1));
  }

  const header = titles.length ? textHeight(ts) + 2 * TEXT_MARGIN : 0;
  const pw = width * scale;
  const ph = height * scale;
  const k = panelsImages.length;
  const canvas = new Canvas(k * pw + (k + 1) * GAP, header + ph + 2 * GAP, WHITE);
  const panels: Rect[] = panelsImages.map((img, k) => {
    const rect = { x: GAP + k * (pw + GAP), y: header + GAP, width: pw, height: ph };
    canvas.draw(img, rect.x, rect.y, scale);
    const title = titles[k];
    if (title) canvas.text(title, rect.x + Math.max(0, (pw - textWidth(title, ts)) >> 1), TEXT_MARGIN + GAP / 2, BLACK, ts);
    return rect;
  });

  if (input.dice !== undefined && input.dice !== null) {
    const label = `DICE ${(100 * input.dice).toFixed(2)}%`;
    const p = panels[1];
    // A dark box behind the text keeps it legible on any image.
    canvas.fillRect(p.x, p.y, textWidth(label, ts) + 2 * TEXT_MARGIN, textHeight(ts) + 2 * TEXT_MARGIN, BLACK);
    canvas.text(label, p.x + TEXT_MARGIN, p.y + TEXT_MARGIN, WHITE, ts);
  }
  return { canvas, panels };
}

/** RGB copy of a gray image with `colour(i)` mixed into pixel i wherever it is not null. */
function tint(gray: Image, colour: (i: number) => Rgb | null, alpha: number): Image {
  const n = gray.width * gray.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = gray.data[i];
    const c = colour(i);
    for (let k = 0; k < 3; k++) data[3 * i + k] = c ? Math.round(g * (1 - alpha) + c[k] * alpha) : g;
  }
  return { width: gray.width, height: gray.height, channels: 3, data };
}
