// Similarity-alignment loss (SRA-Seg eq. 15–16): for each synthetic embedding f_syn[i] (rows of S,
// [N, D]) the distance to its nearest real embedding f_real[j] (rows of R, [M, D]); the loss is the
// mean over i. SQUARED: squared Euclidean distance instead of the paper's plain one.

// d MinDist_i / d S_i = coef_i·(S_i − R_a(i)): 2 when squared, 1/d_i otherwise (0 at d_i = 0, the
// subgradient PyTorch's norm uses there).
fn coefficient(d: f32) -> f32 {
  if (SQUARED) { return 2.0; }
  return select(0.0, 1.0 / d, d > 0.0);
}

//!! distances
// Dist[i·M + j] = ||S_i − R_j||² (one invocation per pair).
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<f32>;
@group(0) @binding(3) var<storage, read_write> Dist: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = globalIndex(wid, nwg, lid);
  if (n >= P.N * P.M) { return; }
  let s = (n / P.M) * P.D;
  let r = (n % P.M) * P.D;
  var acc = 0.0;
  for (var k = 0u; k < P.D; k++) {
    let d = S[s + k] - R[r + k];
    acc += d * d;
  }
  Dist[n] = acc;
}

//!! nearest
// Per synthetic row: the nearest real row (first on ties) and its distance.
@group(0) @binding(1) var<storage, read> Dist: array<f32>;
@group(0) @binding(2) var<storage, read_write> MinDist: array<f32>;
@group(0) @binding(3) var<storage, read_write> Argmin: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.N) { return; }
  var best = Dist[i * P.M];
  var arg = 0u;
  for (var j = 1u; j < P.M; j++) {
    let d = Dist[i * P.M + j];
    if (d < best) {
      best = d;
      arg = j;
    }
  }
  MinDist[i] = select(sqrt(best), best, SQUARED);
  Argmin[i] = i32(arg);
}

//!! grad_syn
// dS[i, k] = g/N · coef_i · (S[i, k] − R[a(i), k]).
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<f32>;
@group(0) @binding(3) var<storage, read> MinDist: array<f32>;
@group(0) @binding(4) var<storage, read> Argmin: array<i32>;
@group(0) @binding(5) var<storage, read> G: array<f32>;
@group(0) @binding(6) var<storage, read_write> DS: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = globalIndex(wid, nwg, lid);
  if (n >= P.N * P.D) { return; }
  let i = n / P.D;
  let k = n % P.D;
  let a = u32(Argmin[i]);
  DS[n] = G[0] / f32(P.N) * coefficient(MinDist[i]) * (S[n] - R[a * P.D + k]);
}

//!! grad_real
// dR[j, k] = −Σ over the synthetic rows i whose nearest is j of g/N · coef_i · (S[i, k] − R[j, k]),
// gathered per output element (no atomics).
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<f32>;
@group(0) @binding(3) var<storage, read> MinDist: array<f32>;
@group(0) @binding(4) var<storage, read> Argmin: array<i32>;
@group(0) @binding(5) var<storage, read> G: array<f32>;
@group(0) @binding(6) var<storage, read_write> DR: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = globalIndex(wid, nwg, lid);
  if (n >= P.M * P.D) { return; }
  let j = n / P.D;
  let k = n % P.D;
  var acc = 0.0;
  for (var i = 0u; i < P.N; i++) {
    if (u32(Argmin[i]) == j) {
      acc += coefficient(MinDist[i]) * (S[i * P.D + k] - R[n]);
    }
  }
  DR[n] = -G[0] / f32(P.N) * acc;
}
