// upfirdn2d: upsample by zero insertion, pad/crop, FIR filter, downsample, in one pass per output
// pixel. The zero-inserted, padded image is never built: each output pixel visits only the input
// pixels its filter footprint covers (about (fh/up)·(fw/up) of them), so the loop stays tiny.
//
// Coordinates: the conceptual image U is the input upsampled (x at multiples of `up`) and shifted
// by the leading pads; output (oy, ox) is the correlation of U at (oy·down, ox·down) with the
// filter, flipped unless `flip` is set (PyTorch's conv2d correlates; the published op convolves).

//!! upfirdn2d
struct Params {
  n: u32,             // output elements: N·C·outH·outW
  inH: u32, inW: u32,
  outH: u32, outW: u32,
  upX: i32, upY: i32,
  downX: i32, downY: i32,
  padX0: i32, padY0: i32,
  fh: i32, fw: i32,
  flip: u32,          // 1: correlate with the filter as given (flip_filter=True)
  separable: u32,     // 1: F holds fw taps used as the outer product f[ky]·f[kx]
  gain: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
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

// Floor division for a possibly negative numerator and a positive divisor.
fn floorDiv(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1, (a % b != 0) && (a < 0));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
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
