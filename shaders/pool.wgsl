// 2-D pooling over NCHW planes with PyTorch's semantics (max_pool2d, avg_pool2d; floor mode).
// Forward kernels run one invocation per output element over its window. The adjoints run one
// invocation per *input* element and gather from the windows that cover it, so no float atomics are
// needed. Every tensor is a stack of planes: element (plane, h, w) lives at (plane·H + h)·W + w, and
// argmax indices are h·W + w within the plane of the (unpadded) input, as PyTorch returns them.

// First input row (or column) of window `o`; negative inside the padding.
fn windowStart(o: u32, stride: u32, pad: u32) -> i32 {
  return i32(o * stride) - i32(pad);
}

// Windows [lo, hi) along one axis whose span [start, start + k) contains input position `i`.
fn coveringWindows(i: u32, k: u32, stride: u32, pad: u32, outLen: u32) -> vec2<u32> {
  let first = i32(i + pad) - i32(k) + 1;
  let lo = select(0u, u32((first + i32(stride) - 1) / i32(stride)), first > 0);
  let hi = min((i + pad) / stride + 1u, outLen);
  return vec2<u32>(lo, max(lo, hi));
}

// avg_pool2d's divisor: the window clipped to the padded input, or to the input itself when padding
// does not count (PyTorch computes it this way in both its forward and backward).
fn avgDivisor(oh: u32, ow: u32) -> f32 {
  let h0 = windowStart(oh, P.sH, P.pH);
  let w0 = windowStart(ow, P.sW, P.pW);
  let h1 = min(h0 + i32(P.kH), i32(P.inH + P.pH));
  let w1 = min(w0 + i32(P.kW), i32(P.inW + P.pW));
  if (P.countIncludePad != 0u) {
    return f32((h1 - h0) * (w1 - w0));
  }
  return f32((min(h1, i32(P.inH)) - max(h0, 0)) * (min(w1, i32(P.inW)) - max(w0, 0)));
}

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

//!! max_forward
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;
@group(0) @binding(3) var<storage, read_write> Argmax: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let ow = i % P.outW;
  let oh = (i / P.outW) % P.outH;
  let base = (i / (P.outW * P.outH)) * P.inH * P.inW;
  let hs = windowStart(oh, P.sH, P.pH);
  let ws = windowStart(ow, P.sW, P.pW);
  let h0 = u32(max(hs, 0));
  let w0 = u32(max(ws, 0));
  let h1 = u32(min(hs + i32(P.kH), i32(P.inH)));
  let w1 = u32(min(ws + i32(P.kW), i32(P.inW)));
  // Padding holds −∞, so the first in-bounds element starts the search. Like PyTorch, a later value
  // wins only when strictly greater (ties keep the first index) or NaN (NaN propagates).
  var best = h0 * P.inW + w0;
  var m = X[base + best];
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) {
      let k = h * P.inW + w;
      let v = X[base + k];
      if (v > m || isNan(v)) {
        m = v;
        best = k;
      }
    }
  }
  Out[i] = m;
  Argmax[i] = i32(best);
}

//!! avg_forward
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
  let hs = windowStart(oh, P.sH, P.pH);
  let ws = windowStart(ow, P.sW, P.pW);
  let h1 = u32(min(hs + i32(P.kH), i32(P.inH)));
  let w1 = u32(min(ws + i32(P.kW), i32(P.inW)));
  var acc = 0.0;
  for (var h = u32(max(hs, 0)); h < h1; h++) {
    for (var w = u32(max(ws, 0)); w < w1; w++) {
      acc += X[base + h * P.inW + w];
    }
  }
  Out[i] = acc / avgDivisor(oh, ow);
}

//!! avg_adjoint
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let iw = i % P.inW;
  let ih = (i / P.inW) % P.inH;
  let plane = i / (P.inW * P.inH);
  let rh = coveringWindows(ih, P.kH, P.sH, P.pH, P.outH);
  let rw = coveringWindows(iw, P.kW, P.sW, P.pW, P.outW);
  var acc = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      acc += G[(plane * P.outH + oh) * P.outW + ow] / avgDivisor(oh, ow);
    }
  }
  Out[i] = acc;
}

//!! argmax_scatter
// Sends each output's gradient to its argmax: the input element sums the windows that chose it.
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Argmax: array<i32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let iw = i % P.inW;
  let ih = (i / P.inW) % P.inH;
  let plane = i / (P.inW * P.inH);
  let here = i32(ih * P.inW + iw);
  let rh = coveringWindows(ih, P.kH, P.sH, P.pH, P.outH);
  let rw = coveringWindows(iw, P.kW, P.sW, P.pW, P.outW);
  var acc = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      let o = (plane * P.outH + oh) * P.outW + ow;
      if (Argmax[o] == here) {
        acc += G[o];
      }
    }
  }
  Out[i] = acc;
}

//!! argmax_gather
// Each output reads its window's argmax element of X (the adjoint of argmax_scatter).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Argmax: array<i32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let plane = i / (P.outW * P.outH);
  Out[i] = X[plane * P.inH * P.inW + u32(Argmax[i])];
}
