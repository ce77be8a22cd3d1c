// Resizing of NCHW planes with PyTorch's F.interpolate semantics, modes 'bilinear' (both
// align_corners settings) and 'nearest'. Each axis maps an output index to one or two source taps
// exactly as ATen's CPU kernels do, in f32. The forward runs one invocation per output element; the
// adjoint is separable and runs along one axis at a time, one invocation per *input* element,
// gathering from the outputs whose taps touch it (no float atomics).

struct Taps { i0: u32, i1: u32, w0: f32, w1: f32 }

// Marks an unused second tap: no index equals it.
const NO_TAP: u32 = 0xffffffffu;

// ATen's compute_source_index_and_lambda: align_corners maps o to scale·o with
// scale = (in − 1)/(out − 1); otherwise half-pixel centres scale·(o + ½) − ½ with scale = in/out,
// clamped at 0 (the clamp PyTorch applies for align_corners=False).
fn linearTaps(o: u32, inLen: u32, outLen: u32, scale: f32, alignCorners: bool) -> Taps {
  if (inLen == outLen) {
    return Taps(o, o, 1.0, 0.0);
  }
  var src = scale * f32(o);
  if (!alignCorners) {
    src = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
  }
  let i0 = min(u32(floor(src)), inLen - 1u);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  let i1 = select(i0, i0 + 1u, i0 < inLen - 1u);
  return Taps(i0, i1, 1.0 - l1, l1);
}

// ATen's nearest_idx: floor(o · in/out), clamped to the last input (for out = in and out = 2·in
// ATen takes shortcuts that this formula reproduces exactly).
fn nearestTaps(o: u32, inLen: u32, outLen: u32, scale: f32, alignCorners: bool) -> Taps {
  return Taps(min(u32(floor(f32(o) * scale)), inLen - 1u), NO_TAP, 1.0, 0.0);
}

// The taps of output o along one axis in the kernel's mode (NEAREST is a constant).
fn taps(o: u32, inLen: u32, outLen: u32, scale: f32, alignCorners: bool) -> Taps {
  if (NEAREST) { return nearestTaps(o, inLen, outLen, scale, alignCorners); }
  return linearTaps(o, inLen, outLen, scale, alignCorners);
}

// A superset [lo, hi] of the outputs whose taps can touch input `i`: those whose source coordinate
// lies in (i − 1, i + 1) — (i − 1, i + 1) contains every linear tap's source, [i, i + 1) every
// nearest one — widened by one output each side against rounding. The adjoint re-derives each
// candidate's taps, so a wider range only costs time.
fn candidateOutputs(i: u32, inLen: u32, outLen: u32, scale: f32, alignCorners: bool) -> vec2<u32> {
  if (scale == 0.0) {
    return vec2<u32>(0u, outLen - 1u); // every output reads input 0
  }
  var a = (f32(i) - 1.0) / scale;
  var b = (f32(i) + 1.0) / scale;
  if (NEAREST) {
    a = f32(i) / scale;
  } else if (!alignCorners) {
    a = (f32(i) - 0.5) / scale - 0.5;
    b = (f32(i) + 1.5) / scale - 0.5;
  }
  let lo = u32(max(i32(floor(a)) - 1, 0));
  var hi = u32(clamp(i32(ceil(b)) + 1, 0, i32(outLen) - 1));
  if (i == inLen - 1u) {
    hi = outLen - 1u; // the last input also takes every source clamped onto it
  }
  return vec2<u32>(min(lo, hi + 1u), hi);
}

//!! bilinear
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let ow = i % P.outW;
  let oh = (i / P.outW) % P.outH;
  let base = (i / (P.outW * P.outH)) * P.inH * P.inW;
  let ac = P.alignCorners != 0u;
  let th = linearTaps(oh, P.inH, P.outH, P.scaleH, ac);
  let tw = linearTaps(ow, P.inW, P.outW, P.scaleW, ac);
  let r0 = base + th.i0 * P.inW;
  let r1 = base + th.i1 * P.inW;
  // ATen's order of operations: interpolate along W within each row, then blend the rows.
  Out[i] = (X[r0 + tw.i0] * tw.w0 + X[r0 + tw.i1] * tw.w1) * th.w0 +
           (X[r1 + tw.i0] * tw.w0 + X[r1 + tw.i1] * tw.w1) * th.w1;
}

//!! nearest
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let ow = i % P.outW;
  let oh = (i / P.outW) % P.outH;
  let base = (i / (P.outW * P.outH)) * P.inH * P.inW;
  let h = nearestTaps(oh, P.inH, P.outH, P.scaleH, false).i0;
  let w = nearestTaps(ow, P.inW, P.outW, P.scaleW, false).i0;
  Out[i] = X[base + h * P.inW + w];
}

//!! adjoint
// One axis of the adjoint. G is [outer, outLen, inner], Out is [outer, inLen, inner]:
// Out[a, i, b] = Σ_o (weight of tap i in output o) · G[a, o, b].
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = globalIndex(wid, nwg, lid);
  if (e >= P.n) { return; }
  let b = e % P.inner;
  let i = (e / P.inner) % P.inLen;
  let gBase = (e / (P.inner * P.inLen)) * P.outLen * P.inner + b;
  let ac = P.alignCorners != 0u;
  let r = candidateOutputs(i, P.inLen, P.outLen, P.scale, ac);
  var acc = 0.0;
  for (var o = r.x; o <= r.y; o++) {
    let t = taps(o, P.inLen, P.outLen, P.scale, ac);
    let g = G[gBase + o * P.inner];
    if (t.i0 == i) { acc += t.w0 * g; }
    if (t.i1 == i) { acc += t.w1 * g; }
  }
  Out[e] = acc;
}
