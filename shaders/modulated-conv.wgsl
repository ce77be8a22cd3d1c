// Weight modulation and demodulation of StyleGAN2 (training/networks.py modulated_conv2d).
//
// Layout: weight W [O, K] with K = I·kk (kk = kh·kw), styles S [N, I]; u[n,o,j] = W[o,j]·S[n, j/kk];
// the output is u·d with d[n,o] = rsqrt(Σ_j u² + eps) when demodulating (else d = 1).
// Rows (n, o) are reduced by one workgroup of WG invocations each: every invocation strides over K
// and a shared-memory tree sums the partials, so an invocation loops about 2K / WG times
// (kernels/modulated-conv.ts checks the loop budget).

var<workgroup> partial: array<f32, WG>;

// Sum of `v` over the workgroup; every invocation gets the total. Call from uniform control flow.
fn workgroupSum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

//!! modulate
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = workgroupIndex(wid, nwg);   // n·O + o
  if (row >= P.rows) { return; }
  let lid = lid3.x;
  let n = row / P.outC;
  let o = row % P.outC;
  var d = 1.0;
  if (P.demodulate == 1u) {
    var ss = 0.0;
    for (var j = lid; j < P.k; j += WG) {
      let u = W[o * P.k + j] * S[n * P.inC + j / P.kk];
      ss += u * u;
    }
    d = inverseSqrt(workgroupSum(ss, lid) + P.eps);
  }
  for (var j = lid; j < P.k; j += WG) {
    Out[row * P.k + j] = W[o * P.k + j] * S[n * P.inC + j / P.kk] * d;
  }
}

//!! rowStats
// Backward, pass 1 (demodulation only): per row, d and c = d³·Σ_j g·u, so that the gradient of
// the pre-demodulation weights is du = d·g − c·u.
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> Stats: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = workgroupIndex(wid, nwg);
  if (row >= P.rows) { return; }
  let lid = lid3.x;
  let n = row / P.outC;
  let o = row % P.outC;
  var ss = 0.0;
  var gu = 0.0;
  for (var j = lid; j < P.k; j += WG) {
    let u = W[o * P.k + j] * S[n * P.inC + j / P.kk];
    ss += u * u;
    gu += G[row * P.k + j] * u;
  }
  let d = inverseSqrt(workgroupSum(ss, lid) + P.eps);
  let t = workgroupSum(gu, lid);
  if (lid == 0u) { Stats[row] = vec2<f32>(d, d * d * d * t); }
}

//!! modulateGrad
// Backward, pass 2: dweight and dstyles in one launch. Workgroups [0, weightGroups) give one
// dweight element per invocation (a short loop over the batch); each later workgroup reduces one
// dstyles element (n, i) over its O·kk terms.
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> S: array<f32>;
@group(0) @binding(4) var<storage, read> Stats: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> DW: array<f32>;
@group(0) @binding(6) var<storage, read_write> DS: array<f32>;

// Gradient of u[n,o,j] (the modulated, not yet demodulated weight).
fn du(n: u32, o: u32, j: u32) -> f32 {
  let row = n * P.outC + o;
  let g = G[row * P.k + j];
  if (P.demodulate == 0u) { return g; }
  let st = Stats[row];
  return st.x * g - st.y * W[o * P.k + j] * S[n * P.inC + j / P.kk];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid3: vec3<u32>) {
  let group = workgroupIndex(wid, nwg);
  let lid = lid3.x;
  if (group < P.weightGroups) {
    let e = group * WG + lid;   // o·K + j
    if (e < P.outC * P.k) {
      let o = e / P.k;
      let j = e % P.k;
      var acc = 0.0;
      for (var n = 0u; n < P.batch; n++) { acc += du(n, o, j) * S[n * P.inC + j / P.kk]; }
      DW[e] = acc;
    }
    // Returning here only depends on the workgroup, which keeps the barriers below in uniform flow.
    return;
  }
  let e = group - P.weightGroups;   // n·I + i
  if (e >= P.batch * P.inC) { return; }
  let n = e / P.inC;
  let i = e % P.inC;
  var acc = 0.0;
  for (var t = lid; t < P.outC * P.kk; t += WG) {
    let o = t / P.kk;
    let j = i * P.kk + t % P.kk;
    acc += du(n, o, j) * W[o * P.k + j];
  }
  let total = workgroupSum(acc, lid);
  if (lid == 0u) { DS[e] = total; }
}
