// Per-image 2D evaluation of vessel segmentation (fundus photographs), at each image's native
// resolution. The published code stacks unrelated test images into one 3D volume and scores that;
// here each photograph is scored on its own, as in the vessel literature:
//   1. the network sees the image resized to its training size (area/bilinear, as in training);
//   2. the vessel probability softmax(logits)[1] is resized back (bilinear) to the native grid;
//   3. prediction = probability ≥ 0.5, restricted to the field of view (FOV) where the set has one;
//   4. Dice, Jaccard, HD95, ASD (medpy semantics, 2D, pixel units) of prediction vs ground truth, and
//      the pixel metrics of the vessel tables (sensitivity, specificity, accuracy, AUC) over FOV pixels.
import { noGrad, tensor, tidy } from '../engine/index.js';
import type { FundusDataset } from '../data/fundus.js';
import type { VolumeSample } from '../data/dataset.js';
import { resizeFiltered } from '../data/resample.js';
import { scoreBinary } from '../metrics/binary.js';
import { summarize } from '../metrics/multiclass.js';
import { meanDefined } from '../metrics/stats.js';
import { pixelScores, type PixelScores } from '../metrics/vessel.js';
import type { UNet } from '../models/unet.js';
import type { VolumeEvaluation, VolumeResult } from './evaluate.js';

export interface FundusImageResult extends VolumeResult {
  pixel: PixelScores;
}

export interface FundusEvaluation extends VolumeEvaluation {
  volumes: FundusImageResult[];
  /** Means over images of the pixel metrics (null where no image had the value defined). */
  pixel: { [K in keyof PixelScores]: number | null };
}

/** What evaluation needs of a dataset: native images, FOV masks and the network's view of an image. */
export type FundusSource = Pick<FundusDataset, 'getVolume' | 'getFov' | 'networkInput' | 'size'>;

/** Vessel probability at the image's native resolution. */
export async function predictVesselProbability(
  model: UNet,
  data: Pick<FundusSource, 'networkInput' | 'size'>,
  vol: Pick<VolumeSample, 'image' | 'height' | 'width'>,
): Promise<Float32Array> {
  const s = data.size;
  const logits = noGrad(() => tidy(() => model.forward(tensor(data.networkInput(vol), [1, 1, s, s]))));
  const classes = logits.shape[1];
  const values = await logits.data();
  logits.dispose();
  if (classes !== 2) throw new Error(`predictVesselProbability: the model has ${classes} output classes, vessel segmentation needs 2`);
  // Softmax of two logits: p(vessel) = 1 / (1 + exp(l0 − l1)).
  const plane = s * s;
  const prob = new Float32Array(plane);
  for (let i = 0; i < plane; i++) prob[i] = 1 / (1 + Math.exp(values[i] - values[plane + i]));
  return resizeFiltered(prob, s, s, vol.height, vol.width);
}

/** Thresholded prediction (0/1), zero outside the field of view. */
export function vesselMask(probability: ArrayLike<number>, fov: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(probability.length);
  for (let i = 0; i < out.length; i++) out[i] = +(probability[i] >= 0.5 && (!fov || fov[i] === 1));
  return out;
}

/** Scores one image's prediction; the ground truth is cut to the FOV too (DRIVE's masks have a few stray pixels outside). */
export function scoreVesselImage(name: string, probability: ArrayLike<number>, vol: VolumeSample, fov: Uint8Array | null): FundusImageResult {
  const pred = vesselMask(probability, fov);
  const gt = fov ? vol.label.map((v, i) => v & fov[i]) : vol.label;
  return {
    name,
    scores: [scoreBinary(pred, gt, { shape: [vol.height, vol.width] })],
    pixel: pixelScores(probability, gt, { fov: fov ?? undefined }),
  };
}

export async function evaluateFundus(
  model: UNet,
  data: FundusSource,
  names: readonly string[],
  { onImage }: { onImage?: (vol: VolumeSample, prediction: Uint8Array, r: FundusImageResult) => void } = {},
): Promise<FundusEvaluation> {
  const images: FundusImageResult[] = [];
  for (const name of names) {
    const vol = data.getVolume(name);
    const fov = data.getFov(name);
    const probability = await predictVesselProbability(model, data, vol);
    const r = scoreVesselImage(name, probability, vol, fov);
    images.push(r);
    onImage?.(vol, vesselMask(probability, fov), r);
  }
  const report = summarize(images.map((r) => r.scores), ['vessel']);
  const meanOf = (k: keyof PixelScores) => meanDefined(images.map((r) => r.pixel[k])).mean;
  return {
    volumes: images,
    report,
    summary: { meanDice: report.literature.dice ?? 0, meanHd95: report.literature.hd95, perClassDice: [report.literature.dice ?? 0] },
    pixel: { sensitivity: meanOf('sensitivity'), specificity: meanOf('specificity'), accuracy: meanOf('accuracy'), f1: meanOf('f1'), auc: meanOf('auc') },
  };
}
