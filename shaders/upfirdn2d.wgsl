// upfirdn2d: upsample by zero insertion, pad/crop, FIR filter, downsample, in one pass per output
// pixel. The zero-inserted, padded image is never built: each output pixel visits only the input
// pixels its filter footprint covers (about (fh/up)·(fw/up) of them), so the loop stays tiny.
//
// Coordinates: the conceptual image U is the input upsampled (x at multiples of `up`) and shifted
// by the leading pads; output (oy, ox) is the correlation of U at (oy·down, ox·down) with the
// filter, flipped unless `flip` is set (PyTorch's conv2d correlates; the published op convolves).

// Floor division for a possibly negative numerator and a positive divisor.
fn floorDiv(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1, (a % b != 0) && (a < 0));
}

//!! upfirdn2d
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> F: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

fn tap(ky: i32, kx: i32) -> f32 {
  // Convolution reads the filter back to front.
  let fy = select(P.fh - 1 - ky, ky, P.flip == 1u);
  let fx = select(P.fw - 1 - kx, kx, P.flip == 1u);
  if (P.separable == 1u) { return F[fy] * F[fx]; }
  return F[fy * P.fw + fx];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let ox = i32(i % P.outW);
  let oy = i32((i / P.outW) % P.outH);
  let plane = i / (P.outW * P.outH);
  // Top-left of this output's window in U (before padding): U index = window start + k.
  let wy = oy * P.downY - P.padY0;
  let wx = ox * P.downX - P.padX0;
  // Input rows iy with iy·up in [wy, wy + fh): only those are non-zero in U.
  let iy0 = max(floorDiv(wy + P.upY - 1, P.upY), 0);
  let iy1 = min(floorDiv(wy + P.fh - 1, P.upY), i32(P.inH) - 1);
  let ix0 = max(floorDiv(wx + P.upX - 1, P.upX), 0);
  let ix1 = min(floorDiv(wx + P.fw - 1, P.upX), i32(P.inW) - 1);
  let base = plane * P.inH * P.inW;
  var acc = 0.0;
  for (var iy = iy0; iy <= iy1; iy++) {
    let ky = iy * P.upY - wy;
    let row = base + u32(iy) * P.inW;
    for (var ix = ix0; ix <= ix1; ix++) {
      acc += X[row + u32(ix)] * tap(ky, ix * P.upX - wx);
    }
  }
  Out[i] = acc * P.gain;
}

//!! upfirdn2dFixed
// The same op with the filter size, factors and flags compiled in (the cache key), so the tap loops
// have constant trip counts that llvmpipe unrolls, and PX adjacent outputs of a row per invocation
// (at up = down = 1 they share their input and filter loads). Taps that fall outside the filter or
// the input still load (from a clamped index) and are masked, which keeps the loop bodies branch-free.
// Compiled in (kernels/upfirdn2d.ts): the filter size FH × FW, the factors UPX, UPY, DOWNX, DOWNY,
// FLIP and SEPARABLE as in `upfirdn2d`, TY = ⌈FH / UPY⌉ and TX = ⌈FW / UPX⌉ (the input rows and
// columns one output's window can touch) and PX, the outputs per invocation along x.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> F: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

fn tap(ky: i32, kx: i32) -> f32 {
  // Convolution (not flipped) reads the filter back to front.
  let fy = select(FH - 1 - ky, ky, FLIP);
  let fx = select(FW - 1 - kx, kx, FLIP);
  if (SEPARABLE) { return F[fy] * F[fx]; }
  return F[fy * FW + fx];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let ox0 = (i % P.segsPerRow) * PX;
  let oy = i32((i / P.segsPerRow) % P.outH);
  let plane = i / (P.segsPerRow * P.outH);
  // As in `upfirdn2d`: the window of output oy starts at wy in U; its first non-zero row is input
  // row iyStart, at filter row ky0 ∈ [0, UPY); the following ones are UPY filter rows apart.
  let wy = oy * DOWNY - P.padY0;
  let iyStart = floorDiv(wy + UPY - 1, UPY);
  let ky0 = iyStart * UPY - wy;
  let lastX = i32(P.inW) - 1;
  var acc: array<f32, PX>;
  for (var j = 0; j < TY; j++) {
    let iy = iyStart + j;
    let ky = ky0 + j * UPY;
    if (ky >= FH || iy < 0 || iy >= i32(P.inH)) { continue; }
    let row = (plane * P.inH + u32(iy)) * P.inW;
    for (var q = 0u; q < PX; q++) {
      let wx = i32(ox0 + q) * DOWNX - P.padX0;
      let ixStart = floorDiv(wx + UPX - 1, UPX);
      let kx0 = ixStart * UPX - wx;
      for (var k = 0; k < TX; k++) {
        let ix = ixStart + k;
        let kx = kx0 + k * UPX;
        let v = X[row + u32(clamp(ix, 0, lastX))] * tap(ky, min(kx, FW - 1));
        acc[q] += select(0.0, v, kx < FW && ix >= 0 && ix <= lastX);
      }
    }
  }
  let at = (plane * P.outH + u32(oy)) * P.outW + ox0;
  for (var q = 0u; q < PX; q++) {
    if (ox0 + q < P.outW) { Out[at + q] = acc[q] * P.gain; }
  }
}
