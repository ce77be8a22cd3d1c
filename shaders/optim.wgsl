// Fused in-place optimiser updates: one invocation per element of the range [base, base + n) of the
// bound buffers — one parameter tensor, or a run of parameters in an optimiser's arena (one dispatch
// for all of them: src/engine/nn/arena.ts). They write the parameter's and the optimiser state's
// buffers directly (no autograd). Scalars that depend only on the step count (Adam's bias
// corrections) are computed on the CPU in f64 and arrive as uniforms, so the shaders do nothing but
// the per-element arithmetic — the same for a tensor and for an arena, bit for bit.

//!! sgd
// PyTorch's torch.optim.SGD without momentum: p −= lr·(g + wd·p).
@group(0) @binding(1) var<storage, read_write> Param: array<f32>;
@group(0) @binding(2) var<storage, read> Grad: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = globalIndex(wid, nwg, lid);
  if (k >= P.n) { return; }
  let i = P.base + k;
  let p = Param[i];
  Param[i] = p - P.lr * (Grad[i] + P.weight_decay * p);
}

//!! sgd_momentum
// PyTorch's torch.optim.SGD with momentum: g' = g + wd·p; b = μ·b + (1 − dampening)·g', except on
// the first step, where b = g'; p −= lr·(g' + μ·b) with nesterov, else p −= lr·b.
@group(0) @binding(1) var<storage, read_write> Param: array<f32>;
@group(0) @binding(2) var<storage, read> Grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> Buf: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = globalIndex(wid, nwg, lid);
  if (k >= P.n) { return; }
  let i = P.base + k;
  let p = Param[i];
  let g = Grad[i] + P.weight_decay * p;
  // The first step must not read Buf: it is fresh, uninitialised pool memory.
  var b = g;
  if (P.first == 0u) { b = P.momentum * Buf[i] + (1.0 - P.dampening) * g; }
  Buf[i] = b;
  let direction = select(b, g + P.momentum * b, P.nesterov == 1u);
  Param[i] = p - P.lr * direction;
}

//!! adam
// PyTorch's torch.optim.Adam / AdamW (amsgrad off): L2 decay adds wd·p to the gradient; decoupled
// decay (AdamW) scales p by 1 − lr·wd first. m ← lerp(m, g, 1 − β1); v ← β2·v + (1 − β2)·g²;
// p −= step_size · m / (√v / √(1 − β2^t) + eps), step_size = lr / (1 − β1^t).
@group(0) @binding(1) var<storage, read_write> Param: array<f32>;
@group(0) @binding(2) var<storage, read> Grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> ExpAvg: array<f32>;
@group(0) @binding(4) var<storage, read_write> ExpAvgSq: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = globalIndex(wid, nwg, lid);
  if (k >= P.n) { return; }
  let i = P.base + k;
  var p = Param[i];
  var g = Grad[i];
  if (P.decoupled == 1u) {
    p = p * (1.0 - P.lr * P.weight_decay);
  } else {
    g = g + P.weight_decay * p;
  }
  let m0 = ExpAvg[i];
  let m = m0 + (1.0 - P.beta1) * (g - m0);
  let v = P.beta2 * ExpAvgSq[i] + (1.0 - P.beta2) * g * g;
  ExpAvg[i] = m;
  ExpAvgSq[i] = v;
  let denom = sqrt(v) / P.bias_correction2_sqrt + P.eps;
  Param[i] = p - P.step_size * (m / denom);
}

//!! ema
// Exponential moving average in place: target = α·target + (1 − α)·source (mean teacher, BatchNorm
// running statistics).
@group(0) @binding(1) var<storage, read_write> Target: array<f32>;
@group(0) @binding(2) var<storage, read> Source: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  Target[i] = P.alpha * Target[i] + (1.0 - P.alpha) * Source[i];
}
