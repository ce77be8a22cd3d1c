// The StyleGAN2 run's curves: losses, ADA's p and FD over kimg, as one PNG.
import { readFileSync } from 'node:fs';
import { linePlot, type PlotPanel, type Series } from '../report/plot.js';
import { writePng } from '../report/png.js';
import type { GanSnapshot } from './checkpoint.js';

/** Losses, p and FD over kimg. */
export function plotGanCurves(logPath: string, pngPath: string, fdName = 'FD'): void {
  const rows = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number> & { snapshot?: GanSnapshot });
  const train = rows.filter((r) => r.G_loss !== undefined);
  const snaps = rows.filter((r) => r.snapshot?.fd !== undefined);
  if (!train.length) return;
  const line = (name: string, key: string): Series => ({ name, x: train.map((r) => r.kimg), y: train.map((r) => r[key] ?? NaN) });
  const panels: PlotPanel[] = [
    { title: 'losses', xLabel: 'kimg', series: [line('G', 'G_loss'), line('D fake', 'D_loss_fake'), line('D real', 'D_loss_real')] },
    { title: 'augmentation p', xLabel: 'kimg', series: [line('p', 'p')] },
  ];
  // FD falls over decades (hundreds at the start, single digits later): on a log axis the later,
  // telling snapshots stay readable.
  if (snaps.length) panels.push({ title: fdName, xLabel: 'kimg', yLog: true, series: [{ name: fdName, x: snaps.map((r) => r.snapshot!.kimg), y: snaps.map((r) => r.snapshot!.fd!) }] });
  writePng(pngPath, linePlot(panels));
}
