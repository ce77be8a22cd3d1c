import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { rng } from './helpers.js';

/**
 * Plain reference of the published filter: for each foreground class, flood-fill 8-connected
 * components numbered in raster order of their first pixel (skimage's `label`), keep the first of
 * the largest (`np.argmax(np.bincount(...)[1:]) + 1`).
 */
function refLargest(labels: ArrayLike<number>, H: number, W: number): number[] {
  const out = new Array(H * W).fill(0);
  const classes = [...new Set(Array.from(labels))].filter((c) => c !== 0);
  for (const c of classes) {
    const comp = new Array(H * W).fill(0);
    const sizes = [0];
    for (let i = 0; i < H * W; i++) {
      if (labels[i] !== c || comp[i]) continue;
      const id = sizes.length;
      sizes.push(0);
      const stack = [i];
      comp[i] = id;
      while (stack.length) {
        const p = stack.pop()!;
        sizes[id]++;
        const y = Math.floor(p / W);
        const x = p % W;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            const q = yy * W + xx;
            if (labels[q] === c && !comp[q]) {
              comp[q] = id;
              stack.push(q);
            }
          }
        }
      }
    }
    let best = 1;
    for (let k = 2; k < sizes.length; k++) if (sizes[k] > sizes[best]) best = k;
    for (let i = 0; i < H * W; i++) if (comp[i] === best) out[i] = c;
  }
  return out;
}

/** Rows of a picture: '.' background, digits are classes. */
function picture(rows: string[]): { labels: Int32Array; H: number; W: number } {
  const H = rows.length;
  const W = rows[0].length;
  const labels = new Int32Array(H * W);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (labels[y * W + x] = ch === '.' ? 0 : Number(ch))));
  return { labels, H, W };
}

function check(rows: string[], want: string[]): void {
  const { labels, H, W } = picture(rows);
  const got = E.keepLargestComponents(labels, H, W);
  assert.equal([...got], [...picture(want).labels], rows.join('/'));
  assert.equal([...got], refLargest(labels, H, W));
}

test('a ring is one component and beats a larger count of scattered pixels', () => {
  check(
    ['.111..1', '.1.1...', '.111..1', '......1'],
    ['.111...', '.1.1...', '.111...', '.......'],
  );
});

test('diagonal contacts join components (8-connectivity), across classes they do not', () => {
  check(['1...', '.1..', '..1.', '1..1'], ['1...', '.1..', '..1.', '...1']);
  check(['1.1', '.1.', '1.1'], ['1.1', '.1.', '1.1']);
  // The two classes cross diagonally without joining; class 2's two pairs tie, the first one stays.
  check(['12..', '21..', '..22', '...1'], ['12..', '21..', '....', '....']);
});

test('equal components: the first in raster order wins (as skimage label + argmax)', () => {
  check(['.11..', '.....', '11..1', '....1'], ['.11..', '.....', '.....', '.....']);
  // The second component starts earlier in raster order via its top row pixel.
  check(['...3', '3..3', '33..'], ['....', '3...', '33..']);
});

test('empty classes and an empty map stay empty; a full map stays full', () => {
  check(['....', '....'], ['....', '....']);
  check(['2222', '2222'], ['2222', '2222']);
});

test('random multi-class maps match the flood-fill reference', () => {
  const r = rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const H = 1 + Math.floor(r() * 17);
    const W = 1 + Math.floor(r() * 19);
    const density = r();
    const labels = new Int32Array(H * W);
    for (let i = 0; i < labels.length; i++) labels[i] = r() < density ? 1 + Math.floor(r() * 3) : 0;
    assert.equal([...E.keepLargestComponents(labels, H, W)], refLargest(labels, H, W), `trial ${trial} ${H}×${W}`);
  }
  // A batch is filtered map by map.
  const b = new Int32Array([1, 0, 1, 1, 0, 1, 0, 0, 2, 0, 2, 2]);
  assert.equal([...E.keepLargestComponentsBatch(b, 2, 2, 3)], [...refLargest(b.subarray(0, 6), 2, 3), ...refLargest(b.subarray(6), 2, 3)]);
  assert.throws(() => E.keepLargestComponents(new Int32Array(5), 2, 3), /keepLargestComponents: 5 labels/);
});

test('pseudoLabels: argmax of the softmax, filtered per image and class, with its one-hot', async () => {
  const B = 2;
  const C = 3;
  const H = 5;
  const W = 6;
  const r = rng(3);
  const logits = new Float32Array(B * C * H * W).map(() => 4 * (r() - 0.5));
  const x = E.tensor(logits, [B, C, H, W]);
  const argmax = new Int32Array(B * H * W);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < H * W; p++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[(b * C + c) * H * W + p] > logits[(b * C + best) * H * W + p]) best = c;
      argmax[b * H * W + p] = best;
    }
  }
  const want = [...refLargest(argmax.subarray(0, H * W), H, W), ...refLargest(argmax.subarray(H * W), H, W)];
  const { labels, oneHot } = await E.pseudoLabels(x);
  assert.equal([...labels.shape], [B, H, W]);
  assert.equal([...(await labels.data())], want);
  const hot = await oneHot.data();
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) assert.is(hot[(b * C + c) * H * W + p], want[b * H * W + p] === c ? 1 : 0);
  }
  const raw = await E.pseudoLabels(x, { largestComponent: false });
  assert.equal([...(await raw.labels.data())], [...argmax]);
  for (const t of [x, labels, oneHot, raw.labels, raw.oneHot]) t.dispose();
});

test.run();
