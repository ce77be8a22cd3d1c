// Line plots rendered straight to a canvas: one or more panels side by side (e.g. training loss and
// validation Dice against iteration), each with axes, numbered ticks at "nice" steps, a title, axis
// labels and a legend. Values that are not finite break a line instead of being drawn.
import { BLACK, Canvas, WHITE } from './canvas.js';
import { GLYPH_ADVANCE, textHeight, textWidth } from './font.js';
import type { Rgb } from './image.js';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  colour?: Rgb;
}

export interface PlotPanel {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: readonly Series[];
  /** Fixed y range (e.g. [0, 1] for Dice); default: the data's, widened to nice ticks. */
  yRange?: readonly [number, number];
  /**
   * A logarithmic y axis, for values that fall over decades (FD from ~200 to ~2): on a linear axis
   * everything after the first drop lies on the floor. Values ≤ 0 break the line like non-finite ones.
   */
  yLog?: boolean;
}

export interface PlotOptions {
  panelWidth?: number;
  panelHeight?: number;
  /** Draw a small square at every point (default: when a series has at most 40 points). */
  markers?: boolean;
}

/** Distinguishable colours (Okabe–Ito) for series without their own. */
export const SERIES_COLOURS: readonly Rgb[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [0, 0, 0],
];

const GRID_COLOUR: Rgb = [225, 225, 225];
const MARGIN = { left: 58, right: 12, top: 22, bottom: 34 };

export function linePlot(panels: readonly PlotPanel[], options: PlotOptions = {}): Canvas {
  if (panels.length === 0) throw new Error('linePlot: no panels');
  const pw = options.panelWidth ?? 420;
  const ph = options.panelHeight ?? 300;
  const canvas = new Canvas(pw * panels.length, ph, WHITE);
  panels.forEach((panel, k) => drawPanel(canvas, panel, k * pw, pw, ph, options.markers));
  return canvas;
}

export interface NiceAxis {
  lo: number;
  hi: number;
  ticks: number[];
  decimals: number;
}

function drawPanel(canvas: Canvas, panel: PlotPanel, x0: number, pw: number, ph: number, markers?: boolean): void {
  for (const s of panel.series) {
    if (s.x.length !== s.y.length) throw new Error(`linePlot: series '${s.name}' has ${s.x.length} x and ${s.y.length} y values`);
  }
  const xAxis = niceAxis(finiteValues(panel.series.map((s) => s.x)));
  const yRange = panel.yRange ?? finiteValues(panel.series.map((s) => s.y), panel.yLog);
  const yAxis = panel.yLog ? logAxis(yRange) : niceAxis(yRange, panel.yRange !== undefined);
  // Where a value lies along the y axis: itself, or its logarithm on a log axis.
  const yOf = panel.yLog ? (v: number) => (v > 0 ? Math.log10(v) : NaN) : (v: number) => v;
  const left = x0 + MARGIN.left;
  const top = MARGIN.top;
  const w = pw - MARGIN.left - MARGIN.right;
  const h = ph - MARGIN.top - MARGIN.bottom;
  const px = (v: number) => left + ((v - xAxis.lo) / (xAxis.hi - xAxis.lo)) * (w - 1);
  const [yLo, yHi] = [yOf(yAxis.lo), yOf(yAxis.hi)];
  const py = (v: number) => top + h - 1 - ((yOf(v) - yLo) / (yHi - yLo)) * (h - 1);

  // Grid lines and tick labels first, so the data lines are drawn over them.
  for (const t of xAxis.ticks) {
    const x = Math.round(px(t));
    canvas.fillRect(x, top, 1, h, GRID_COLOUR);
    canvas.fillRect(x, top + h, 1, 3, BLACK);
    const label = formatTick(t, xAxis.decimals);
    canvas.text(label, x - (textWidth(label) >> 1), top + h + 5);
  }
  for (const t of yAxis.ticks) {
    const y = Math.round(py(t));
    canvas.fillRect(left, y, w, 1, GRID_COLOUR);
    canvas.fillRect(left - 3, y, 3, 1, BLACK);
    const label = formatTick(t, yAxis.decimals);
    canvas.text(label, left - 5 - textWidth(label), y - (textHeight() >> 1));
  }
  canvas.strokeRect(left - 1, top - 1, w + 2, h + 2, BLACK);
  if (panel.title) canvas.text(panel.title, left + ((w - textWidth(panel.title)) >> 1), 7);
  if (panel.xLabel) canvas.text(panel.xLabel, left + ((w - textWidth(panel.xLabel)) >> 1), ph - textHeight() - 4);
  if (panel.yLabel) canvas.text(panel.yLabel, x0 + 4, top + ((h - textWidth(panel.yLabel)) >> 1), BLACK, 1, true);

  panel.series.forEach((s, k) => {
    const colour = s.colour ?? SERIES_COLOURS[k % SERIES_COLOURS.length];
    const drawMarkers = markers ?? s.x.length <= 40;
    let previous: [number, number] | null = null;
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(yOf(s.y[i]))) {
        previous = null;
        continue;
      }
      const point: [number, number] = [px(s.x[i]), clampTo(py(s.y[i]), top, top + h - 1)];
      if (previous) canvas.line(previous[0], previous[1], point[0], point[1], colour, 2);
      if (drawMarkers) canvas.fillRect(Math.round(point[0]) - 2, Math.round(point[1]) - 2, 5, 5, colour);
      previous = point;
    }
  });
  drawLegend(canvas, panel.series, left + w, top);
}

/** Names with colour swatches in a framed box at the top-right corner (right, top) of the plot area. */
function drawLegend(canvas: Canvas, series: readonly Series[], right: number, top: number): void {
  if (series.length === 0) return;
  const swatch = 14;
  const row = textHeight() + 5;
  const width = Math.max(...series.map((s) => textWidth(s.name))) + swatch + 3 * GLYPH_ADVANCE;
  const x = right - width - 6;
  const y = top + 6;
  canvas.fillRect(x, y, width, series.length * row + 6, WHITE);
  canvas.strokeRect(x, y, width, series.length * row + 6, BLACK);
  series.forEach((s, k) => {
    const colour = s.colour ?? SERIES_COLOURS[k % SERIES_COLOURS.length];
    const ty = y + 5 + k * row;
    canvas.fillRect(x + GLYPH_ADVANCE, ty + 2, swatch, 3, colour);
    canvas.text(s.name, x + 2 * GLYPH_ADVANCE + swatch, ty);
  });
}

/** The range of the finite values (only the positive ones when `positive`), or [0, 1] for none. */
function finiteValues(arrays: ArrayLike<number>[], positive = false): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]) || (positive && a[i] <= 0)) continue;
      lo = Math.min(lo, a[i]);
      hi = Math.max(hi, a[i]);
    }
  }
  return lo <= hi ? [lo, hi] : positive ? [1, 10] : [0, 1];
}

/**
 * A logarithmic axis over a positive range, widened to whole decades: a tick at every power of ten,
 * and at 2× and 5× too where the range spans fewer than three decades (so that it has ticks at all).
 */
export function logAxis(range: readonly [number, number]): NiceAxis {
  const [a, b] = range;
  if (!(a > 0 && b > 0)) throw new Error(`logAxis: range [${a}, ${b}] is not positive`);
  const d0 = Math.floor(Math.log10(Math.min(a, b)) + 1e-9);
  const d1 = Math.max(d0 + 1, Math.ceil(Math.log10(Math.max(a, b)) - 1e-9));
  const mantissas = d1 - d0 < 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let d = d0; d <= d1; d++) for (const m of mantissas) if (d < d1 || m === 1) ticks.push(Number((m * 10 ** d).toPrecision(12)));
  return { lo: 10 ** d0, hi: 10 ** d1, ticks, decimals: Math.max(0, -d0) };
}

/**
 * About five ticks (four to eight) at a step of 1, 2 or 5 × 10^k. The axis is widened to whole steps unless `fixed`.
 * A degenerate range (one value) is opened up around the value.
 */
export function niceAxis(range: readonly [number, number], fixed = false): NiceAxis {
  let [lo, hi] = range;
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const mantissa = raw / magnitude; // in [1, 10): round it to 1, 2, 5 or 10
  const step = (mantissa < 1.5 ? 1 : mantissa < 3 ? 2 : mantissa < 7 ? 5 : 10) * magnitude;
  if (!fixed) {
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
  }
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9); t * step <= hi + step * 1e-9; t++) ticks.push(t * step);
  return { lo, hi, ticks, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

function formatTick(v: number, decimals: number): string {
  if (Math.abs(v) >= 1e6) return v.toExponential(1).toUpperCase();
  return (Math.abs(v) < 1e-12 ? 0 : v).toFixed(decimals);
}

const clampTo = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
