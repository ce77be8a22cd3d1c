// Fused soft Dice + soft cross-entropy from logits [B, C, H, W] and a soft target of the same shape
// (SRA-Seg eq. 12–14). p = softmax over C; q = clamp(p, LO, HI) and t = clamp(target, LO, HI) when
// CLAMP (the published code), else q = p and t = target. Two forms share the partial sums:
// - published (PAPER false): per sample b and class c over the pixels I = Σ q·t, D = Σ q + Σ t + eps;
//   Dice = 1 − mean_{b,c} 2I/D; CE = −Σ t·log q / (B·H·W) (the mean over pixels).
// - paper (PAPER true, eq. 13–14 over the batch as one tensor): I = Σ_{b,c,x,y} q·t,
//   D = Σ q + Σ t + eps; Dice = 1 − 2I/D (one ratio); CE = −Σ_{b,c,x,y} t·log q (a sum).
// Constants from kernels/seg-loss.ts: C classes, CLAMP, its bounds LO and HI, PAPER (the form, for
// `grad`), PPT pixels per invocation in `partials`.

// Sums per pixel in `partials`: I_c, Q_c, T_c for every class, and the CE term.
const K: u32 = 3u * C + 1u;

fn clampTarget(v: f32) -> f32 {
  return select(v, clamp(v, LO, HI), CLAMP);
}

//!! partials
// Workgroup (chunk k, sample b): per-class sums of q·t, q, t and the CE sum over its pixels, reduced
// across the workgroup into Partials[b, k, 0 .. 3C] = (I_c…, Q_c…, T_c…, CE).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Target: array<f32>;
@group(0) @binding(3) var<storage, read_write> Partials: array<f32>;

var<workgroup> red: array<f32, WG * K>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = wid.x;
  let b = wid.y;
  let t0 = lid.x;
  var acc: array<f32, K>;
  for (var j = 0u; j < K; j++) { acc[j] = 0.0; }
  let base = b * C * P.plane;
  for (var s = 0u; s < PPT; s++) {
    let pix = k * P.chunkPixels + s * WG + t0;
    if (pix >= P.plane) { break; }
    var m = X[base + pix];
    for (var c = 1u; c < C; c++) { m = max(m, X[base + c * P.plane + pix]); }
    var z = 0.0;
    for (var c = 0u; c < C; c++) { z += exp(X[base + c * P.plane + pix] - m); }
    let logZ = log(z);
    for (var c = 0u; c < C; c++) {
      let i = base + c * P.plane + pix;
      let logp = X[i] - m - logZ;
      let p = exp(logp);
      let t = clampTarget(Target[i]);
      var q = p;
      var logq = logp;
      if (CLAMP) {
        q = clamp(p, LO, HI);
        logq = log(q);
      }
      acc[c] += q * t;
      acc[C + c] += q;
      acc[2u * C + c] += t;
      acc[3u * C] -= t * logq;
    }
  }
  for (var j = 0u; j < K; j++) { red[t0 * K + j] = acc[j]; }
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t0 < stride) {
      for (var j = 0u; j < K; j++) { red[t0 * K + j] += red[(t0 + stride) * K + j]; }
    }
    workgroupBarrier();
  }
  if (t0 == 0u) {
    let o = (b * P.chunks + k) * K;
    for (var j = 0u; j < K; j++) { Partials[o + j] = red[j]; }
  }
}

//!! finalize
// One workgroup: sums the chunks into Stats[b, c] = (I, D) for the backward, and the loss.
@group(0) @binding(1) var<storage, read> Partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> Stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> DiceOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> CeOut: array<f32>;

var<workgroup> ratioSum: array<f32, WG>;
var<workgroup> ceSum: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t0 = lid.x;
  var ratio = 0.0;
  for (var bc = t0; bc < P.B * C; bc += WG) {
    let b = bc / C;
    let c = bc % C;
    var inter = 0.0;
    var den = P.eps;
    for (var k = 0u; k < P.chunks; k++) {
      let o = (b * P.chunks + k) * K;
      inter += Partials[o + c];
      den += Partials[o + C + c] + Partials[o + 2u * C + c];
    }
    Stats[2u * bc] = inter;
    Stats[2u * bc + 1u] = den;
    ratio += 2.0 * inter / den;
  }
  var ce = 0.0;
  for (var bk = t0; bk < P.B * P.chunks; bk += WG) { ce += Partials[bk * K + 3u * C]; }
  ratioSum[t0] = ratio;
  ceSum[t0] = ce;
  workgroupBarrier();
  if (t0 == 0u) {
    var r = 0.0;
    var e = 0.0;
    for (var j = 0u; j < WG; j++) {
      r += ratioSum[j];
      e += ceSum[j];
    }
    let dice = 1.0 - r / f32(P.B * C);
    let crossEntropy = e / f32(P.B * P.plane);
    Loss[0] = dice + crossEntropy;
    DiceOut[0] = dice;
    CeOut[0] = crossEntropy;
  }
}

//!! finalize_paper
// One workgroup, eq. 13–14 over the whole batch: one ratio I/D with I = Σ_{b,c,x,y} q·t and
// D = Σ q + Σ t + eps, kept in Stats[0..1] for the backward, and CE = −Σ_{b,c,x,y} t·log q.
@group(0) @binding(1) var<storage, read> Partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> Stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> DiceOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> CeOut: array<f32>;

var<workgroup> interSum: array<f32, WG>;
var<workgroup> denSum: array<f32, WG>;
var<workgroup> ceSum: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t0 = lid.x;
  var inter = 0.0;
  var den = 0.0;
  var ce = 0.0;
  for (var bk = t0; bk < P.B * P.chunks; bk += WG) {
    let o = bk * K;
    for (var c = 0u; c < C; c++) {
      inter += Partials[o + c];
      den += Partials[o + C + c] + Partials[o + 2u * C + c];
    }
    ce += Partials[o + 3u * C];
  }
  interSum[t0] = inter;
  denSum[t0] = den;
  ceSum[t0] = ce;
  workgroupBarrier();
  if (t0 == 0u) {
    var i = 0.0;
    var d = P.eps;
    var e = 0.0;
    for (var j = 0u; j < WG; j++) {
      i += interSum[j];
      d += denSum[j];
      e += ceSum[j];
    }
    Stats[0] = i;
    Stats[1] = d;
    let dice = 1.0 - 2.0 * i / d;
    Loss[0] = dice + e;
    DiceOut[0] = dice;
    CeOut[0] = e;
  }
}

//!! grad
// One invocation per pixel: d(loss)/d(logits) through the clamp and the softmax, scaled by the
// incoming gradient G[0]. With h_c = ∂loss/∂q_c gated by the clamp, dx_c = p_c·(h_c − Σ_k p_k h_k);
// the CE part p_c·h_c = −t_c/(B·H·W) (paper form: −t_c) is formed without dividing by q. The Dice
// statistics are per (sample, class) in the published form, one pair in Stats[0..1] in the paper's.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Target: array<f32>;
@group(0) @binding(3) var<storage, read> Stats: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = globalIndex(wid, nwg, lid);
  if (n >= P.B * P.plane) { return; }
  let b = n / P.plane;
  let pix = n % P.plane;
  let base = b * C * P.plane + pix;
  var m = X[base];
  for (var c = 1u; c < C; c++) { m = max(m, X[base + c * P.plane]); }
  var z = 0.0;
  for (var c = 0u; c < C; c++) { z += exp(X[base + c * P.plane] - m); }
  let diceScale = select(-2.0 / f32(P.B * C), -2.0, PAPER);
  let ceScale = select(-1.0 / f32(P.B * P.plane), -1.0, PAPER);
  var p: array<f32, C>;
  var diceGrad: array<f32, C>;
  var ceGrad: array<f32, C>;
  var sumDice = 0.0;
  var sumCe = 0.0;
  for (var c = 0u; c < C; c++) {
    let i = base + c * P.plane;
    p[c] = exp(X[i] - m) / z;
    let t = clampTarget(Target[i]);
    let gate = select(1.0, select(0.0, 1.0, p[c] >= LO && p[c] <= HI), CLAMP);
    let s = select(b * C + c, 0u, PAPER);
    let inter = Stats[2u * s];
    let den = Stats[2u * s + 1u];
    diceGrad[c] = gate * diceScale * (t / den - inter / (den * den));
    ceGrad[c] = gate * ceScale * t;
    sumDice += p[c] * diceGrad[c];
    sumCe += ceGrad[c];
  }
  let g = G[0];
  for (var c = 0u; c < C; c++) {
    DX[base + c * P.plane] = g * (p[c] * (diceGrad[c] - sumDice) + ceGrad[c] - p[c] * sumCe);
  }
}
