// Float64 references of the method's formulas, written from the paper and ../shared/SRA-SEG-NOTES.md
// (not from the code under test), on plain arrays: images [B, 1, H, W] and maps [B, C, H, W] in row-major
// order. The method tests feed them hand-made mixed images and targets.

/** A [B, C, H, W] array with its shape. */
export interface Map4 {
  shape: [number, number, number, number];
  v: Float64Array;
}

export const map4 = (shape: [number, number, number, number], f: (b: number, c: number, y: number, x: number) => number): Map4 => {
  const [B, C, H, W] = shape;
  const v = new Float64Array(B * C * H * W);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) v[((b * C + c) * H + y) * W + x] = f(b, c, y, x);
  return { shape, v };
};

export const at = (m: Map4, b: number, c: number, y: number, x: number) => m.v[((b * m.shape[1] + c) * m.shape[2] + y) * m.shape[3] + x];

/** Softmax over the class axis. */
export function softmax64(logits: Map4): Map4 {
  const C = logits.shape[1];
  return map4(logits.shape, (b, c, y, x) => {
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, at(logits, b, k, y, x));
    let z = 0;
    for (let k = 0; k < C; k++) z += Math.exp(at(logits, b, k, y, x) - m);
    return Math.exp(at(logits, b, c, y, x) - m) / z;
  });
}

const LO = 1e-6;
const HI = Math.fround(1 - 1e-6);
const clip = (v: number) => Math.min(HI, Math.max(LO, v));

/**
 * Soft Dice + soft CE. 'published': probabilities and targets clamped to [1e−6, 1 − 1e−6], Dice per
 * sample and class (linear denominator + 1e−6), 1 − mean; CE = −Σ t·log p / (B·H·W).
 * 'paper' (eq. 13–14, no clamp): one ratio over everything, CE summed.
 */
export function softSeg64(logits: Map4, target: Map4, form: 'published' | 'paper'): number {
  const [B, C, H, W] = logits.shape;
  const p = softmax64(logits);
  if (form === 'paper') {
    let I = 0;
    let D = 1e-6;
    let ce = 0;
    for (let i = 0; i < p.v.length; i++) {
      I += p.v[i] * target.v[i];
      D += p.v[i] + target.v[i];
      ce -= target.v[i] * Math.log(p.v[i]);
    }
    return 1 - (2 * I) / D + ce;
  }
  let ratio = 0;
  let ce = 0;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let I = 0;
      let D = 1e-6;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const q = clip(at(p, b, c, y, x));
          const t = clip(at(target, b, c, y, x));
          I += q * t;
          D += q + t;
          ce -= t * Math.log(q);
        }
      }
      ratio += (2 * I) / D;
    }
  }
  return 1 - ratio / (B * C) + ce / (B * H * W);
}

/**
 * BCP's loss of one mixed batch, (Dice + CE)/2: labels `outside` where m = 1 with weight wOut,
 * `inside` where m = 0 with weight wIn. Dice per class pooled over the batch, squared denominator,
 * smooth 1e−10, background included, mean over classes; CE averaged over each region.
 */
export function bcpHalf64(logits: Map4, outside: Int32Array, inside: Int32Array, m: Float64Array, wOut: number, wIn: number): number {
  const [B, C, H, W] = logits.shape;
  const p = softmax64(logits);
  const region = (labels: Int32Array, w: (k: number) => number) => {
    let dice = 0;
    for (let c = 0; c < C; c++) {
      let I = 0;
      let Z = 0;
      let Y = 0;
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < H * W; k++) {
          const pv = at(p, b, c, Math.floor(k / W), k % W);
          const t = labels[b * H * W + k] === c ? 1 : 0;
          I += pv * t * w(k);
          Z += pv * pv * w(k);
          Y += t * t * w(k);
        }
      }
      dice += 1 - (2 * I + 1e-10) / (Z + Y + 1e-10);
    }
    let ce = 0;
    let area = 0;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < H * W; k++) {
        ce -= w(k) * Math.log(at(p, b, labels[b * H * W + k], Math.floor(k / W), k % W));
        area += w(k);
      }
    }
    return { dice: dice / C, ce: ce / (area + 1e-16) };
  };
  const o = region(outside, (k) => m[k]);
  const i = region(inside, (k) => 1 - m[k]);
  return (wOut * o.dice + wIn * i.dice + wOut * o.ce + wIn * i.ce) / 2;
}

/** Eq. 16: mean over synthetic rows of the Euclidean distance to the nearest real row. */
export function sa64(fSyn: number[][], fReal: number[][]): number {
  let s = 0;
  for (const f of fSyn) s += Math.min(...fReal.map((r) => Math.hypot(...f.map((v, k) => v - r[k]))));
  return s / fSyn.length;
}
