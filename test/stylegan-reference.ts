// f64 references for the StyleGAN2 ops (upfirdn2d, grouped convolution), written from the
// published definitions step by step; shared by test/upfirdn2d.test.ts and test/modulated-conv.test.ts.

export type Pad4 = [number, number, number, number];

/**
 * f64 reference written the published way, step by step: zero-insert, pad/crop, convolve (flip the
 * filter unless flipFilter), keep every down-th pixel.
 */
export function refUpfirdn(x: Float64Array, shape: number[], f: number[][], up: [number, number], down: [number, number], pad: Pad4, flip: boolean, gain: number) {
  const [n, c, h, w] = shape;
  const [ux, uy] = up;
  const [dx, dy] = down;
  const [px0, px1, py0, py1] = pad;
  const uh = h * uy;
  const uw = w * ux;
  const ph = uh + py0 + py1;
  const pw = uw + px0 + px1;
  const fh = f.length;
  const fw = f[0].length;
  const oh = Math.floor((ph - fh) / dy) + 1;
  const ow = Math.floor((pw - fw) / dx) + 1;
  const padded = (p: number, yy: number, xx: number) => {
    const sy = yy - py0;
    const sx = xx - px0;
    if (sy < 0 || sx < 0 || sy >= uh || sx >= uw || sy % uy || sx % ux) return 0;
    return x[(p * h + sy / uy) * w + sx / ux];
  };
  const out = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let s = 0;
        for (let ky = 0; ky < fh; ky++)
          for (let kx = 0; kx < fw; kx++) {
            const tap = flip ? f[ky][kx] : f[fh - 1 - ky][fw - 1 - kx];
            s += padded(p, oy * dy + ky, ox * dx + kx) * tap;
          }
        out[(p * oh + oy) * ow + ox] = s * gain;
      }
  return { out, shape: [n, c, oh, ow] };
}

/**
 * PyTorch conv2d (correlation, stride 1, no padding) with groups, in f64: x [N, C, H, W],
 * w [O, C/groups, kh, kw] → [N, O, H − kh + 1, W − kw + 1].
 */
export function refConv(x: Float64Array, xs: number[], w: Float64Array, ws: number[], groups: number) {
  const [n, c, h, wd] = xs;
  const [o, cg, kh, kw] = ws;
  const oh = h - kh + 1;
  const ow = wd - kw + 1;
  const og = o / groups;
  const out = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = 0;
          for (let i = 0; i < cg; i++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                s += x[((b * c + g * cg + i) * h + y + ky) * wd + xx + kx] * w[((oc * cg + i) * kh + ky) * kw + kx];
              }
          out[((b * o + oc) * oh + y) * ow + xx] = s;
        }
    }
  return { out, shape: [n, o, oh, ow] };
}

/** Reverse the last two axes of [..., kh, kw] weights. */
export function flipKernel(w: Float64Array, kh: number, kw: number): Float64Array {
  return w.map((_, i) => {
    const plane = Math.floor(i / (kh * kw));
    const r = i % (kh * kw);
    const y = Math.floor(r / kw);
    const x = r % kw;
    return w[plane * kh * kw + (kh - 1 - y) * kw + (kw - 1 - x)];
  });
}
