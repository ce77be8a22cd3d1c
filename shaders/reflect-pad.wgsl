// Reflection padding of the last two axes (torch.nn.functional.pad mode 'reflect': the edge pixel is
// not repeated), and its adjoint. Both gather, one invocation per output element, so the adjoint is
// deterministic: an input pixel receives from at most three positions per axis (itself and one
// mirror image on each side, since every pad is smaller than the axis).

//!! pad
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

fn mirrorIndex(i: i32, size: i32) -> u32 {
  if (i < 0) { return u32(-i); }
  if (i >= size) { return u32(2 * (size - 1) - i); }
  return u32(i);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let plane = i / (P.outH * P.outW);
  let x = mirrorIndex(i32(i % P.outW) - i32(P.left), i32(P.inW));
  let y = mirrorIndex(i32((i / P.outW) % P.outH) - i32(P.top), i32(P.inH));
  Out[i] = X[(plane * P.inH + y) * P.inW + x];
}

//!! adjoint
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

// The padded positions (−1 where there is none) that read input index i along one axis.
fn sources(i: u32, size: u32, before: u32, after: u32) -> vec3<i32> {
  let direct = i32(i + before);
  let left = select(-1, i32(before) - i32(i), i >= 1u && i <= before);
  let right = select(-1, i32(before + 2u * (size - 1u)) - i32(i), i + 1u < size && i + 1u + after >= size);
  return vec3<i32>(direct, left, right);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let plane = i / (P.inH * P.inW);
  let xs = sources(i % P.inW, P.inW, P.left, P.right);
  let ys = sources((i / P.inW) % P.inH, P.inH, P.top, P.bottom);
  var acc = 0.0;
  for (var a = 0; a < 3; a++) {
    for (var b = 0; b < 3; b++) {
      if (ys[a] >= 0 && xs[b] >= 0) {
        acc += G[(plane * P.outH + u32(ys[a])) * P.outW + u32(xs[b])];
      }
    }
  }
  Out[i] = acc;
}
