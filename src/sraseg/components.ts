// Largest-connected-component filtering of label maps on the CPU (the pseudo-label cleaning step of
// BCP and SRA-Seg). Label maps are small (one 256×256 slice is 65,536 pixels) and the result is read
// back anyway, so a linear-time union–find over the read-back argmax beats a multi-pass GPU labelling.

/** Union–find over pixel indices with path halving and union by size. */
class DisjointSets {
  readonly parent: Int32Array;
  readonly size: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
  }
}

/**
 * For one H×W label map (row-major), keep for every foreground class (label ≠ 0) only its largest
 * 8-connected component; the other pixels of that class become background (0). Returns a new map.
 *
 * Ties: among equally large components the one whose first pixel comes first in raster order wins.
 * That is what the published code picks: skimage's `label` numbers components in raster order of
 * their first pixel and `np.argmax(np.bincount(...))` returns the first maximum.
 */
export function keepLargestComponents(labels: Int32Array, height: number, width: number): Int32Array {
  if (labels.length !== height * width) {
    throw new Error(`keepLargestComponents: ${labels.length} labels do not fill a ${height}×${width} map`);
  }
  const sets = new DisjointSets(labels.length);
  // Join each foreground pixel with its already-visited 8-neighbours of the same class: W, NW, N, NE.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const c = labels[i];
      if (c === 0) continue;
      if (x > 0 && labels[i - 1] === c) sets.union(i, i - 1);
      if (y > 0) {
        const up = i - width;
        if (x > 0 && labels[up - 1] === c) sets.union(i, up - 1);
        if (labels[up] === c) sets.union(i, up);
        if (x + 1 < width && labels[up + 1] === c) sets.union(i, up + 1);
      }
    }
  }
  // Visiting roots in raster order of their first pixel, a strictly larger size replaces the best:
  // the earliest of equal components stays.
  const best = new Map<number, { root: number; size: number }>();
  const seen = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c === 0) continue;
    const r = sets.find(i);
    if (seen[r]) continue;
    seen[r] = 1;
    const size = sets.size[r];
    const current = best.get(c);
    if (!current || size > current.size) best.set(c, { root: r, size });
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c !== 0 && sets.find(i) === best.get(c)!.root) out[i] = c;
  }
  return out;
}

/** `keepLargestComponents` on each map of a [B, H, W] batch stored contiguously. */
export function keepLargestComponentsBatch(labels: Int32Array, batch: number, height: number, width: number): Int32Array {
  const plane = height * width;
  if (labels.length !== batch * plane) {
    throw new Error(`keepLargestComponentsBatch: ${labels.length} labels do not fill [${batch}, ${height}, ${width}]`);
  }
  const out = new Int32Array(labels.length);
  for (let b = 0; b < batch; b++) {
    out.set(keepLargestComponents(labels.subarray(b * plane, (b + 1) * plane), height, width), b * plane);
  }
  return out;
}
