// One-hot encoding and soft-target cross-entropy. Class axes are addressed by strides: a tensor is
// seen as [outer, C, inner] with C the class axis, so a "row" (one position's C scores) is C
// elements `inner` apart, and the class axis of NCHW needs no transpose.

fn rowBase(r: u32) -> u32 {
  return (r / P.inner) * P.C * P.inner + r % P.inner;
}

// Row of element i of a [outer, C, inner] tensor.
fn rowOf(i: u32) -> u32 {
  return (i / (P.C * P.inner)) * P.inner + i % P.inner;
}

//!! oneHot
// Out[o, c, k] = (labels[o, k] == c). A label outside [0, C) matches no class: an all-zero row.
@group(0) @binding(1) var<storage, read> Labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.rows * P.C) { return; }
  let c = i32((i / P.inner) % P.C);
  Out[i] = select(0.0, 1.0, Labels[rowOf(i)] == c);
}

//!! crossEntropyRows
// Per row: loss = −Σ_c t_c·(x_c − lse) with lse = log Σ_c exp(x_c) (stable: max first), plus
// (lse, Σ_c t_c) saved for the backward.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> Stats: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = globalIndex(wid, nwg, lid);
  if (r >= P.rows) { return; }
  let base = rowBase(r);
  var m = -3.4e38;
  for (var c = 0u; c < P.C; c++) { m = max(m, X[base + c * P.inner]); }
  var s = 0.0;
  for (var c = 0u; c < P.C; c++) { s += exp(X[base + c * P.inner] - m); }
  let lse = m + log(s);
  var loss = 0.0;
  var tsum = 0.0;
  for (var c = 0u; c < P.C; c++) {
    let t = T[base + c * P.inner];
    loss -= t * (X[base + c * P.inner] - lse);
    tsum += t;
  }
  Loss[r] = loss;
  Stats[r] = vec2<f32>(lse, tsum);
}

//!! crossEntropyGradLogits
// d/dx = g·scale·(softmax(x)·Σt − t), scale = 1 / number of rows.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read> Stats: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.rows * P.C) { return; }
  let st = Stats[rowOf(i)];
  Out[i] = G[0] * P.scale * (exp(X[i] - st.x) * st.y - T[i]);
}

//!! crossEntropyGradTarget
// d/dt = −g·scale·log_softmax(x).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Stats: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.rows * P.C) { return; }
  Out[i] = -G[0] * P.scale * (X[i] - Stats[rowOf(i)].x);
}
