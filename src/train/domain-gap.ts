// The domain-gap picture of the paper's Fig. 1: for pixels of one class that the network predicts
// correctly, the distribution (Gaussian KDE) of the decoder's last feature map averaged over channels,
// for labeled vs unlabeled images. Two well-separated curves mean the network represents the two
// sources differently even where it is right.
import { argmax, mean, noGrad, tensor, tidy } from '../engine/index.js';
import type { SeededRng } from '../data/rng.js';
import type { UNet } from '../models/unet.js';
import { linePlot } from '../report/plot.js';
import { writePng } from '../report/png.js';

/**
 * Channel-mean decoder features at up to `maxPixels` correctly predicted pixels of class `cls`
 * (images [B, 1, S, S], labels [B·S·S]), sampled uniformly without replacement.
 */
export async function correctPixelFeatures(
  model: UNet,
  images: Float32Array,
  labels: Int32Array,
  shape: [number, number, number, number],
  cls: number,
  maxPixels: number,
  rng: SeededRng,
): Promise<number[]> {
  model.eval();
  const [feat, pred] = noGrad(() =>
    tidy(() => {
      const out = model.forwardAll(tensor(images, shape));
      return [mean(out.features, 1), argmax(out.logits, 1)];
    }),
  );
  const f = await feat.data();
  const p = await pred.data();
  feat.dispose();
  pred.dispose();
  const hits: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === cls && p[i] === cls) hits.push(f[i]);
  // Partial Fisher–Yates: the first maxPixels entries become a uniform sample.
  const n = Math.min(maxPixels, hits.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(0, hits.length - i);
    [hits[i], hits[j]] = [hits[j], hits[i]];
  }
  return hits.slice(0, n);
}

/** Gaussian kernel density estimate on `grid` with Scott's bandwidth (σ·n^(−1/5)), as scipy's default. */
export function gaussianKde(samples: readonly number[], grid: readonly number[]): number[] {
  const n = samples.length;
  if (n < 2) throw new Error(`gaussianKde: need at least 2 samples, got ${n}`);
  const mu = samples.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1));
  const h = Math.max(sd, 1e-12) * n ** -0.2;
  const norm = 1 / (n * h * Math.sqrt(2 * Math.PI));
  return grid.map((x) => norm * samples.reduce((a, s) => a + Math.exp(-0.5 * ((x - s) / h) ** 2), 0));
}

/** Write the two KDE curves as a PNG; returns the grid's range. */
export function writeDomainGapPlot(path: string, labeled: number[], unlabeled: number[], title: string): [number, number] {
  const all = [...labeled, ...unlabeled];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const pad = 0.1 * (hi - lo || 1);
  const grid = Array.from({ length: 200 }, (_, i) => lo - pad + ((hi - lo + 2 * pad) * i) / 199);
  const canvas = linePlot(
    [
      {
        title,
        xLabel: 'mean decoder feature',
        yLabel: 'density',
        series: [
          { name: `labeled (${labeled.length} px)`, x: grid, y: gaussianKde(labeled, grid) },
          { name: `unlabeled (${unlabeled.length} px)`, x: grid, y: gaussianKde(unlabeled, grid) },
        ],
      },
    ],
    { markers: false, panelWidth: 560 },
  );
  writePng(path, canvas);
  return [grid[0], grid[grid.length - 1]];
}
