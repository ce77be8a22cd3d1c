// Float64 references shared by the kernel tests (matmul, conv2d, attention, gpu-kernels): direct
// loops, independent of every kernel, so each kernel variant is checked against the same definition.

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * NumPy batch broadcasting of two operands' leading dims: the batch shape, and for each flat batch
 * index z the matrix index each operand reads (0 along its broadcast dims).
 */
export function broadcastBatch(aLead: number[], bLead: number[]): { batch: number[]; ia: number[]; ib: number[] } {
  const rank = Math.max(aLead.length, bLead.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aLead), pad(bLead)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const [sa, sb] = [strides(pa), strides(pb)];
  const nBatch = batch.reduce((x, y) => x * y, 1);
  const ia: number[] = [];
  const ib: number[] = [];
  for (let z = 0; z < nBatch; z++) {
    let rem = z;
    let a = 0;
    let b = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      if (pa[d] !== 1) a += c * sa[d];
      if (pb[d] !== 1) b += c * sb[d];
    }
    ia.push(a);
    ib.push(b);
  }
  return { batch, ia, ib };
}

/**
 * f64 reference of op(a)·op(b) with NumPy batch broadcasting; a and b are row-major values of the
 * given (stored) shapes.
 */
export function refMatmul(av: Float64Array, aShape: number[], bv: Float64Array, bShape: number[], transA = false, transB = false) {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const N = transB ? br : bc;
  const { batch, ia, ib } = broadcastBatch(aShape.slice(0, -2), bShape.slice(0, -2));
  const y = new Float64Array(ia.length * M * N);
  for (let z = 0; z < ia.length; z++) {
    const ao = ia[z] * M * K;
    const bo = ib[z] * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = av[ao + (transA ? k * M + m : m * K + k)];
          const w = bv[bo + (transB ? n * K + k : k * N + n)];
          s += x * w;
        }
        y[(z * M + m) * N + n] = s;
      }
  }
  return { y, shape: [...batch, M, N] };
}

export type Pair = [number, number];
export interface Geo {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}
export type Shape4 = [number, number, number, number];

export const at = (s: Shape4, a: number, b: number, c: number, d: number) => ((a * s[1] + b) * s[2] + c) * s[3] + d;

/**
 * Float64 direct loops over every (n, co, oy, ox, ci, ky, kx) of a convolution, calling `visit` with
 * the flat indices of the y, x and w elements involved. Forward, input and weight gradients are all
 * sums over these triples.
 */
export function forEachTriple(xs: Shape4, ws: Shape4, ys: Shape4, geo: Geo, visit: (yi: number, xi: number, wi: number) => void): void {
  const [n, cin, h, w] = xs;
  const [cout, cinG, kh, kw] = ws;
  const coutG = cout / geo.groups;
  for (let b = 0; b < n; b++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < ys[2]; oy++)
        for (let ox = 0; ox < ys[3]; ox++)
          for (let c = 0; c < cinG; c++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * geo.stride[0] - geo.padding[0] + ky * geo.dilation[0];
                const ix = ox * geo.stride[1] - geo.padding[1] + kx * geo.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const ci = Math.floor(co / coutG) * cinG + c;
                if (ci >= cin) throw new Error('bad reference geometry');
                visit(at(ys, b, co, oy, ox), at(xs, b, ci, iy, ix), at(ws, co, c, ky, kx));
              }
}

export const outSize = (size: number, k: number, geo: Geo, a: 0 | 1) =>
  Math.floor((size + 2 * geo.padding[a] - geo.dilation[a] * (k - 1) - 1) / geo.stride[a]) + 1;

export function fullGeo(g: Partial<Geo>): Geo {
  return { stride: g.stride ?? [1, 1], padding: g.padding ?? [0, 0], dilation: g.dilation ?? [1, 1], groups: g.groups ?? 1 };
}

export interface AttentionRef {
  o: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/**
 * f64 reference for q [B, Nq, Dh], k/v [B, Nk, Dh] (B = all leading dims): the output and, for an
 * upstream gradient g, the exact gradients (dP = g·vᵀ, dS = P∘(dP − rowsum(dP∘P)), dq = s·dS·k, ...).
 */
export function refAttention(q: Float64Array, k: Float64Array, v: Float64Array, g: Float64Array, B: number, nq: number, nk: number, dh: number, scale: number): AttentionRef {
  const o = new Float64Array(B * nq * dh);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < B; b++) {
    const Q = (i: number, d: number) => q[(b * nq + i) * dh + d];
    const K = (j: number, d: number) => k[(b * nk + j) * dh + d];
    const V = (j: number, d: number) => v[(b * nk + j) * dh + d];
    const G = (i: number, d: number) => g[(b * nq + i) * dh + d];
    for (let i = 0; i < nq; i++) {
      const s = new Float64Array(nk);
      let m = -Infinity;
      for (let j = 0; j < nk; j++) {
        let x = 0;
        for (let d = 0; d < dh; d++) x += Q(i, d) * K(j, d);
        s[j] = scale * x;
        m = Math.max(m, s[j]);
      }
      let z = 0;
      for (let j = 0; j < nk; j++) z += Math.exp(s[j] - m);
      const p = s.map((x) => Math.exp(x - m) / z);
      const dp = new Float64Array(nk);
      let pdp = 0;
      for (let j = 0; j < nk; j++) {
        for (let d = 0; d < dh; d++) {
          o[(b * nq + i) * dh + d] += p[j] * V(j, d);
          dp[j] += G(i, d) * V(j, d);
          dv[(b * nk + j) * dh + d] += p[j] * G(i, d);
        }
        pdp += p[j] * dp[j];
      }
      for (let j = 0; j < nk; j++) {
        const ds = p[j] * (dp[j] - pdp) * scale;
        for (let d = 0; d < dh; d++) {
          dq[(b * nq + i) * dh + d] += ds * K(j, d);
          dk[(b * nk + j) * dh + d] += ds * Q(i, d);
        }
      }
    }
  }
  return { o, dq, dk, dv };
}

/**
 * conv2d's forward and every gradient in float64, for given values: y = conv(x, w) (+ b), and with dy
 * the input, weight and bias gradients. `ys` is the output shape; `bias` says whether b takes part;
 * `transposed`: y = convTranspose(x, w) instead.
 */
export function refConv(
  xs: Shape4, ws: Shape4, ys: Shape4, geo: Geo,
  v: { x: Float64Array; w: Float64Array; b: Float64Array; dy: Float64Array }, bias: boolean, transposed = false,
): { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const y = new Float64Array(ys.reduce((a, b) => a * b, 1));
  const dx = new Float64Array(v.x.length);
  const dw = new Float64Array(v.w.length);
  // A transposed convolution x → y is the input gradient of the convolution y → x: the same triples
  // with the roles of x and y swapped (geo then describes that convolution).
  const visit = (yi: number, xi: number, wi: number) => {
    y[yi] += v.x[xi] * v.w[wi];
    dx[xi] += v.dy[yi] * v.w[wi];
    dw[wi] += v.dy[yi] * v.x[xi];
  };
  if (transposed) forEachTriple(ys, ws, xs, geo, (xi, yi, wi) => visit(yi, xi, wi));
  else forEachTriple(xs, ws, ys, geo, visit);
  const plane = ys[2] * ys[3];
  const db = new Float64Array(ys[1]);
  for (let i = 0; i < y.length; i++) {
    const ch = Math.floor(i / plane) % ys[1];
    if (bias) y[i] += v.b[ch];
    db[ch] += v.dy[i];
  }
  return { y, dx, dw, db };
}
