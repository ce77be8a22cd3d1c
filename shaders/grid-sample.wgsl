// Bilinear grid sampling with PyTorch's grid_sample conventions (align_corners = false, zeros
// padding): a grid point g in [-1, 1] lands on input pixel ((g + 1)·size − 1) / 2, and corners
// outside the image contribute nothing. One invocation per output element; no loops but the
// compare-and-swap retry of the scatter below.

// The four bilinear taps of one grid point: integer corner and fractional weights.
struct Taps { x0: i32, y0: i32, fx: f32, fy: f32 }

fn tapsAt(gx: f32, gy: f32) -> Taps {
  let ix = ((gx + 1.0) * f32(P.inW) - 1.0) * 0.5;
  let iy = ((gy + 1.0) * f32(P.inH) - 1.0) * 0.5;
  let fx0 = floor(ix);
  let fy0 = floor(iy);
  return Taps(i32(fx0), i32(fy0), ix - fx0, iy - fy0);
}

fn inside(x: i32, y: i32) -> bool {
  return x >= 0 && y >= 0 && x < i32(P.inW) && y < i32(P.inH);
}

//!! affineGrid
// grid[b, y, x] = theta[b] · (x_n, y_n, 1) with x_n = (2x + 1) / outW − 1 (affine_grid, align_corners = false).
@group(0) @binding(1) var<storage, read> Theta: array<f32>;
@group(0) @binding(2) var<storage, read_write> Grid: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  let hw = P.outH * P.outW;
  if (i >= P.n * hw) { return; }
  let b = i / hw;
  let x = f32(i % P.outW);
  let y = f32((i / P.outW) % P.outH);
  let xn = (2.0 * x + 1.0) / f32(P.outW) - 1.0;
  let yn = (2.0 * y + 1.0) / f32(P.outH) - 1.0;
  let t = b * 6u;
  Grid[2u * i] = Theta[t] * xn + Theta[t + 1u] * yn + Theta[t + 2u];
  Grid[2u * i + 1u] = Theta[t + 3u] * xn + Theta[t + 4u] * yn + Theta[t + 5u];
}

//!! sample
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Grid: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

fn pixel(base: u32, x: i32, y: i32) -> f32 {
  if (!inside(x, y)) { return 0.0; }
  return X[base + u32(y) * P.inW + u32(x)];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  let hw = P.outH * P.outW;
  if (i >= P.n * P.channels * hw) { return; }
  let nc = i / hw;
  let g = (nc / P.channels) * hw + i % hw;
  let t = tapsAt(Grid[2u * g], Grid[2u * g + 1u]);
  let base = nc * P.inH * P.inW;
  let top = mix(pixel(base, t.x0, t.y0), pixel(base, t.x0 + 1, t.y0), t.fx);
  let bottom = mix(pixel(base, t.x0, t.y0 + 1), pixel(base, t.x0 + 1, t.y0 + 1), t.fx);
  Out[i] = mix(top, bottom, t.fy);
}

//!! imageGrad
// The adjoint of `sample`: each output element's gradient is scattered onto its four taps. Several
// grid points may share a tap, and WGSL has no float atomics, so the add is a compare-and-swap loop
// on the bits (the summation order, and so the last bit, may vary between runs).
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Grid: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<atomic<u32>>;

fn scatter(base: u32, x: i32, y: i32, v: f32) {
  if (!inside(x, y) || v == 0.0) { return; }
  let k = base + u32(y) * P.inW + u32(x);
  var old = atomicLoad(&DX[k]);
  loop {
    let r = atomicCompareExchangeWeak(&DX[k], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  let hw = P.outH * P.outW;
  if (i >= P.n * P.channels * hw) { return; }
  let nc = i / hw;
  let g = (nc / P.channels) * hw + i % hw;
  let t = tapsAt(Grid[2u * g], Grid[2u * g + 1u]);
  let base = nc * P.inH * P.inW;
  let d = G[i];
  scatter(base, t.x0, t.y0, d * (1.0 - t.fx) * (1.0 - t.fy));
  scatter(base, t.x0 + 1, t.y0, d * t.fx * (1.0 - t.fy));
  scatter(base, t.x0, t.y0 + 1, d * (1.0 - t.fx) * t.fy);
  scatter(base, t.x0 + 1, t.y0 + 1, d * t.fx * t.fy);
}
