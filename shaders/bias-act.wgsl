// Fused bias + activation + gain + clamp (StyleGAN2-ADA's bias_act), forward and backward.
// Slots: ACT is the activation of `v` (which may use P.alpha), SLOPE its slope as a function
// of the pre-gain output `r` (piecewise-linear activations only: the slope is a constant
// per piece, so the backward is linear in the incoming gradient). Bias broadcasts along one axis:
// element i reads bias[(i / P.inner) % P.channels].

//!! forward
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  var v = X[i];
  if (P.hasBias == 1u) { v += B[(i / P.inner) % P.channels]; }
  var y = ({{ACT}}) * P.gain;
  // A negative clamp disables clamping, as published.
  if (P.clampTo >= 0.0) { y = clamp(y, -P.clampTo, P.clampTo); }
  Out[i] = y;
}

//!! backward
// dx = dy · gain · act'(·) · [|y| < clamp], with the activation's piece read off the saved output y
// (published: the sign of y / gain), so x need not be kept.
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let y = Y[i];
  let r = select(0.0, y / P.gain, P.gain != 0.0);
  var d = DY[i] * P.gain * ({{SLOPE}});
  if (P.clampTo >= 0.0 && !(abs(y) < P.clampTo)) { d = 0.0; }
  Out[i] = d;
}
