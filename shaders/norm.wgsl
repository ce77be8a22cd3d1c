// Batch normalisation (NCHW, statistics per channel over N·H·W) and layer normalisation (over the
// last dimension). kernels/norm.ts declares each kernel's uniforms; helpers here take everything as
// arguments.
//
// BatchNorm statistics and its backward's sums are per-channel reductions over N·H·W elements,
// which may be 262,144 or more: one workgroup per channel would leave most of the device idle (and
// loop long, which software adapters cap), so they run in two passes. Pass 1 gives each (channel,
// chunk) a workgroup of WG that writes one vec2 partial; pass 2 (`bnSumPartials`) adds a channel's
// partials. The variance uses sums of d = x − x_ref,
// shifted by the channel's first element, so that a large mean does not cancel the variance away.

// Flat index of element k (of N·HW) of channel c in an NCHW tensor.
fn nchwIndex(c: u32, k: u32, C: u32, HW: u32) -> u32 {
  return ((k / HW) * C + c) * HW + k % HW;
}

var<workgroup> sSum: array<vec2<f32>, WG>;

// The gradient reaching the normalised value t = x·scale + shift (st = mean, invstd, scale, shift):
// g itself, or, with a LeakyReLU fused after the BatchNorm (`leaky`, a compile-time constant at the
// call), g·select(slope, 1, t > 0) — t recomputed bit for bit as the forward computed it.
fn gated(g: f32, x: f32, st: vec4<f32>, leaky: bool, slope: f32) -> f32 {
  if (!leaky) { return g; }
  let t = x * st.z + st.w;
  return g * select(slope, 1.0, t > 0.0);
}

// Tree-sum of sSum[0..WG) (WG a power of two, called by all invocations), result in sSum[0].
fn treeSum(lid: u32) {
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h >> 1u) {
    if (lid < h) { sSum[lid] += sSum[lid + h]; }
    workgroupBarrier();
  }
}

//!! bnStatsPartial
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Partials: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  let c = w / P.nChunks;
  let valid = c < P.C;
  let xRef = select(0.0, X[nchwIndex(min(c, P.C - 1u), 0u, P.C, P.HW)], valid);
  var acc = vec2<f32>(0.0);
  if (valid) {
    let end = min(P.NHW, (w % P.nChunks + 1u) * P.chunk);
    for (var k = (w % P.nChunks) * P.chunk + lid.x; k < end; k += WG) {
      let d = X[nchwIndex(c, k, P.C, P.HW)] - xRef;
      acc += vec2<f32>(d, d * d);
    }
  }
  sSum[lid.x] = acc;
  treeSum(lid.x);
  if (lid.x == 0u && valid) { Partials[w] = sSum[0]; }
}

//!! bnGradPartial
// Partial (Σ g, Σ g·x̂) with x̂ = (x − mean)·invstd. With LEAKY (BatchNorm fused with a LeakyReLU)
// g is first gated by the activation's derivative at t = x·scale + shift, the normalised value the
// forward computed: exactly the composition's mul(g, select(slope, 1, t > 0)).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> StatsAffine: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Partials: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  let c = w / P.nChunks;
  let valid = c < P.C;
  var acc = vec2<f32>(0.0);
  if (valid) {
    let st = StatsAffine[c];
    let end = min(P.NHW, (w % P.nChunks + 1u) * P.chunk);
    for (var k = (w % P.nChunks) * P.chunk + lid.x; k < end; k += WG) {
      let i = nchwIndex(c, k, P.C, P.HW);
      let x = X[i];
      let g = gated(G[i], x, st, LEAKY, P.slope);
      acc += vec2<f32>(g, g * (x - st.x) * st.y);
    }
  }
  sSum[lid.x] = acc;
  treeSum(lid.x);
  if (lid.x == 0u && valid) { Partials[w] = sSum[0]; }
}

//!! bnSumPartials
// One workgroup per channel adds its nChunks partials; the two components go to two tensors.
@group(0) @binding(1) var<storage, read> Partials: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> SumA: array<f32>;
@group(0) @binding(3) var<storage, read_write> SumB: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = workgroupIndex(wid, nwg);
  var acc = vec2<f32>(0.0);
  if (c < P.C) {
    for (var j = lid.x; j < P.nChunks; j += WG) { acc += Partials[c * P.nChunks + j]; }
  }
  sSum[lid.x] = acc;
  treeSum(lid.x);
  if (lid.x == 0u && c < P.C) {
    SumA[c] = sSum[0].x;
    SumB[c] = sSum[0].y;
  }
}

//!! bnFinalizeTraining
// Per channel: batch mean and biased variance from the shifted sums; StatsAffine = (mean, invstd,
// scale, shift), y = x·scale + shift (mean and invstd for the backward); running statistics updated
// in place with the unbiased variance, as PyTorch does. Eight storage bindings: WebGPU's default
// per-stage limit (Dawn's null backend has no more).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> SumD: array<f32>;
@group(0) @binding(3) var<storage, read> SumD2: array<f32>;
@group(0) @binding(4) var<storage, read> Weight: array<f32>;
@group(0) @binding(5) var<storage, read> Bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> RunMean: array<f32>;
@group(0) @binding(7) var<storage, read_write> RunVar: array<f32>;
@group(0) @binding(8) var<storage, read_write> StatsAffine: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = globalIndex(wid, nwg, lid);
  if (c >= P.C) { return; }
  let meanD = SumD[c] / P.count;
  let variance = max(SumD2[c] / P.count - meanD * meanD, 0.0);
  let mean = X[nchwIndex(c, 0u, P.C, P.HW)] + meanD;
  let invstd = inverseSqrt(variance + P.eps);
  let scale = Weight[c] * invstd;
  StatsAffine[c] = vec4<f32>(mean, invstd, scale, Bias[c] - mean * scale);
  RunMean[c] = (1.0 - P.momentum) * RunMean[c] + P.momentum * mean;
  RunVar[c] = (1.0 - P.momentum) * RunVar[c] + P.momentum * variance * P.count / (P.count - 1.0);
}

//!! bnPrepareEval
// Per channel from the running statistics: StatsAffine = (mean, invstd, scale, shift).
@group(0) @binding(1) var<storage, read> RunMean: array<f32>;
@group(0) @binding(2) var<storage, read> RunVar: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> StatsAffine: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = globalIndex(wid, nwg, lid);
  if (c >= P.C) { return; }
  let invstd = inverseSqrt(RunVar[c] + P.eps);
  let scale = Weight[c] * invstd;
  StatsAffine[c] = vec4<f32>(RunMean[c], invstd, scale, Bias[c] - RunMean[c] * scale);
}

//!! bnNormalize
// y = t = x·scale[c] + shift[c]; with LEAKY the LeakyReLU of it, as leakyRelu computes it:
// select(t·slope, t, t > 0).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> StatsAffine: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let a = StatsAffine[(i / P.HW) % P.C];
  let t = X[i] * a.z + a.w;
  if (LEAKY) {
    Y[i] = select(t * P.slope, t, t > 0.0);
  } else {
    Y[i] = t;
  }
}

//!! bnGradInputTraining
// dx = scale·(g − Σg/n − x̂·Σ(g·x̂)/n), the batch statistics' own dependence on x included; g gated
// by the LeakyReLU's derivative first when fused (LEAKY).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> StatsAffine: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> SumG: array<f32>;
@group(0) @binding(5) var<storage, read> SumGX: array<f32>;
@group(0) @binding(6) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let c = (i / P.HW) % P.C;
  let st = StatsAffine[c];
  let x = X[i];
  let xhat = (x - st.x) * st.y;
  DX[i] = st.z * (gated(G[i], x, st, LEAKY, P.slope) - SumG[c] / P.count - xhat * SumGX[c] / P.count);
}

//!! bnGradInputEval
// Eval mode (running statistics are constants): dx = g·scale, g gated by the LeakyReLU first when
// fused — the composition mul(mul(g, gate), scale).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> StatsAffine: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let st = StatsAffine[(i / P.HW) % P.C];
  DX[i] = gated(G[i], X[i], st, LEAKY, P.slope) * st.z;
}

//!! lnForward
// One workgroup per row of D: mean, then the variance around it (two passes over the row,
// not E[x²] − E[x]²), then y = x̂·w + b. Stats = (mean, rstd) per row for the backward.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Weight: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<storage, read_write> Stats: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = workgroupIndex(wid, nwg);
  let valid = r < P.rows;
  let base = r * P.D;
  let n = select(0u, P.D, valid);
  var s = 0.0;
  for (var k = lid.x; k < n; k += WG) { s += X[base + k]; }
  sSum[lid.x] = vec2<f32>(s, 0.0);
  treeSum(lid.x);
  let mean = sSum[0].x / f32(P.D);
  workgroupBarrier();
  var q = 0.0;
  for (var k = lid.x; k < n; k += WG) {
    let d = X[base + k] - mean;
    q += d * d;
  }
  sSum[lid.x] = vec2<f32>(q, 0.0);
  treeSum(lid.x);
  let rstd = inverseSqrt(sSum[0].x / f32(P.D) + P.eps);
  for (var k = lid.x; k < n; k += WG) {
    Y[base + k] = (X[base + k] - mean) * rstd * Weight[k] + Bias[k];
  }
  if (lid.x == 0u && valid) { Stats[r] = vec2<f32>(mean, rstd); }
}

//!! lnBackward
// Per row, with ĝ = g·w: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)). Also writes g·x̂, whose sum over
// rows is the weight's gradient.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> Stats: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@group(0) @binding(6) var<storage, read_write> GXhat: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = workgroupIndex(wid, nwg);
  let valid = r < P.rows;
  let base = r * P.D;
  let n = select(0u, P.D, valid);
  let st = select(vec2<f32>(0.0), Stats[min(r, P.rows - 1u)], valid);
  var acc = vec2<f32>(0.0);
  for (var k = lid.x; k < n; k += WG) {
    let xhat = (X[base + k] - st.x) * st.y;
    let gh = G[base + k] * Weight[k];
    acc += vec2<f32>(gh, gh * xhat);
  }
  sSum[lid.x] = acc;
  treeSum(lid.x);
  let m = sSum[0] / f32(P.D);
  for (var k = lid.x; k < n; k += WG) {
    let xhat = (X[base + k] - st.x) * st.y;
    let g = G[base + k];
    DX[base + k] = st.y * (g * Weight[k] - m.x - xhat * m.y);
    GXhat[base + k] = g * xhat;
  }
}
