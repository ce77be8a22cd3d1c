// Data movement: a strided gather (permute, expand, slice: out[i] = X[offset + Σ c_d·stride_d]) and
// a strided scatter (concat, pad: Out[offset + Σ c_d·stride_d] = X[i]), over the output's (gather) or
// the input's (scatter) index space. Rank ≤ 8; shapes and strides in uniforms.

struct Params { n: u32, rank: u32, offset: u32, pad0: u32,
                shape: array<vec4<u32>, 2>, stride: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> P: Params;

fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

fn stridedOffset(i: u32) -> u32 {
  var rem = i;
  var off = P.offset;
  for (var d = i32(P.rank) - 1; d >= 0; d--) {
    let s = at8(P.shape, u32(d));
    off += (rem % s) * at8(P.stride, u32(d));
    rem = rem / s;
  }
  return off;
}

//!! gather
@group(0) @binding(1) var<storage, read> X: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  Out[i] = X[stridedOffset(i)];
}

//!! scatter
@group(0) @binding(1) var<storage, read> X: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  Out[stridedOffset(i)] = X[i];
}
