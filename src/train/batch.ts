// Turn a list of slice indices into one training batch: each slice augmented as the published code
// does and zoomed (nearest) to size×size, packed as images [B, 1, S, S] and labels [B, S, S].
import { augmentAndResize } from '../data/augment.js';
import type { SegDataset } from '../data/dataset.js';
import type { SeededRng } from '../data/rng.js';

export interface HostBatch {
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export function prepareBatch(data: SegDataset, indices: readonly number[], size: number, rng: SeededRng): HostBatch {
  const plane = size * size;
  const images = new Float32Array(indices.length * plane);
  const labels = new Int32Array(indices.length * plane);
  indices.forEach((index, b) => {
    const s = augmentAndResize(data.getSlice(index), rng, size, size);
    images.set(s.image, b * plane);
    for (let i = 0; i < plane; i++) labels[b * plane + i] = s.label[i];
  });
  return { images, labels, shape: [indices.length, 1, size, size] };
}
