// Soft copy-paste blend of two [B, C, H, W] tensors with one weight map α [1 or B, 1, H, W]:
// out = a·α + b·(1 − α). `alphaStride` is H·W when α has one map per sample, 0 when it is shared.

fn alphaIndex(i: u32) -> u32 {
  return (i / P.sample) * P.alphaStride + i % P.plane;
}

//!! blend
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> Alpha: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let w = Alpha[alphaIndex(i)];
  Out[i] = A[i] * w + B[i] * (1.0 - w);
}

//!! blend_grad
// Both input gradients in one pass: dA = g·α, dB = g·(1 − α).
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Alpha: array<f32>;
@group(0) @binding(3) var<storage, read_write> GA: array<f32>;
@group(0) @binding(4) var<storage, read_write> GB: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let w = Alpha[alphaIndex(i)];
  let g = G[i];
  GA[i] = g * w;
  GB[i] = g * (1.0 - w);
}
