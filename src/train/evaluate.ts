// BCP's test protocol on volumes: each slice zoomed to the training size (nearest), the network's
// argmax zoomed back to the slice's size, slices stacked into a 3D prediction, then Dice, Jaccard,
// HD95 and ASD per foreground class on the 3D masks (medpy semantics; voxel units unless spacing).
import { argmax, noGrad, tensor, tidy } from '../engine/index.js';
import { zoomNearest } from '../data/zoom.js';
import { scoreLabelVolume, summarize, type EvaluationSummary } from '../metrics/multiclass.js';
import type { BinaryScores } from '../metrics/binary.js';
import type { UNet } from '../models/unet.js';
import type { SegDataset, VolumeSample } from '../data/dataset.js';

export const ACDC_CLASSES = ['RV', 'Myo', 'LV'];

export interface VolumeResult {
  name: string;
  scores: BinaryScores[];
}

export interface VolumeEvaluation {
  volumes: VolumeResult[];
  report: EvaluationSummary;
  summary: { meanDice: number; meanHd95: number | null; perClassDice: number[] };
}

/** Slices per forward pass during evaluation. */
const EVAL_BATCH = 8;

/** Predict a label volume [D, H, W] slice by slice; `onSlices(n)` after each batch of n slices. */
export async function predictVolume(
  model: UNet,
  vol: Pick<VolumeSample, 'image' | 'depth' | 'height' | 'width'>,
  size: number,
  onSlices?: (n: number) => void,
): Promise<Uint8Array> {
  const { depth, height, width } = vol;
  const pred = new Uint8Array(depth * height * width);
  const plane = height * width;
  for (let z0 = 0; z0 < depth; z0 += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, depth - z0);
    const input = new Float32Array(n * size * size);
    for (let k = 0; k < n; k++) {
      const slice = vol.image.subarray((z0 + k) * plane, (z0 + k + 1) * plane);
      input.set(zoomNearest(slice, height, width, size, size), k * size * size);
    }
    const labels = noGrad(() => tidy(() => argmax(model.forward(tensor(input, [n, 1, size, size])), 1)));
    const values = new Uint8Array(await labels.data());
    labels.dispose();
    for (let k = 0; k < n; k++) {
      const small = values.subarray(k * size * size, (k + 1) * size * size);
      const back = zoomNearest(small, size, size, height, width);
      for (let i = 0; i < plane; i++) pred[(z0 + k) * plane + i] = back[i];
    }
    onSlices?.(n);
  }
  return pred;
}

export async function evaluateVolumes(
  model: UNet,
  data: SegDataset,
  names: string[],
  size: number,
  { useSpacing = false, onVolume }: { useSpacing?: boolean; onVolume?: (v: VolumeSample, pred: Uint8Array, r: VolumeResult) => void } = {},
): Promise<VolumeEvaluation> {
  const volumes: VolumeResult[] = [];
  for (const name of names) {
    const vol = data.getVolume(name);
    const pred = await predictVolume(model, vol, size);
    const grid = { shape: [vol.depth, vol.height, vol.width], spacing: useSpacing ? vol.spacing : undefined };
    const r = { name, scores: scoreLabelVolume(pred, vol.label, grid, data.numClasses) };
    volumes.push(r);
    onVolume?.(vol, pred, r);
  }
  const classNames = data.classNames?.slice(1) ?? (data.numClasses === 4 ? ACDC_CLASSES : undefined);
  const report = summarize(volumes.map((v) => v.scores), classNames);
  return {
    volumes,
    report,
    summary: {
      meanDice: report.literature.dice ?? 0,
      meanHd95: report.literature.hd95,
      perClassDice: report.classes.map((c) => c.literature.dice ?? 0),
    },
  };
}
