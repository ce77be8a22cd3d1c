// The run's curves as a PNG: training loss (and its moving average) and validation Dice per class.
import { readFileSync } from 'node:fs';
import { writePng } from '../report/png.js';
import { linePlot, type Series } from '../report/plot.js';

interface LogRow {
  iteration: number;
  loss?: number;
  val?: { dice: number; perClass?: number[] };
}

export function plotCurves(logPath: string, pngPath: string, classNames = ['RV', 'Myo', 'LV']): void {
  const rows = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogRow);
  const train = rows.filter((r) => r.loss !== undefined);
  const val = rows.filter((r) => r.val);
  if (!train.length) return;
  const losses = train.map((r) => r.loss!);
  // Trailing mean over ~1/15 of the points: readable trend whatever the run's length.
  const k = Math.max(1, Math.round(losses.length / 15));
  const smooth = losses.map((_, i) => {
    const from = Math.max(0, i - k + 1);
    return losses.slice(from, i + 1).reduce((a, b) => a + b, 0) / (i + 1 - from);
  });
  const valSeries: Series[] = [{ name: 'mean Dice', x: val.map((r) => r.iteration), y: val.map((r) => r.val!.dice) }];
  classNames.forEach((name, k) => {
    if (val.length && val[0].val!.perClass && val[0].val!.perClass.length > k) {
      valSeries.push({ name, x: val.map((r) => r.iteration), y: val.map((r) => r.val!.perClass![k]) });
    }
  });
  const canvas = linePlot([
    {
      title: 'training loss',
      xLabel: 'iteration',
      series: [
        { name: 'loss', x: train.map((r) => r.iteration), y: losses },
        { name: 'moving average', x: train.map((r) => r.iteration), y: smooth },
      ],
    },
    { title: 'validation Dice', xLabel: 'iteration', yRange: [0, 1], series: valSeries },
  ]);
  writePng(pngPath, canvas);
}
