// The prelude every kernel starts with. kernels/wgsl.ts puts it after the declarations it generates
// from TypeScript: the uniform struct (bound at binding 0 as `P`), `const WG: u32` (the workgroup
// size the kernel is launched with), the kernel's other constants and type aliases.

// A rank-≤8 shape or stride vector in uniforms (a `vec8` field of kernels/uniforms.ts).
alias Vec8 = array<vec4<u32>, 2>;

// Entry d (< 8) of a Vec8.
fn at8(v: Vec8, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

// The workgroup's index in a 1-D launch: kernels/common.ts `grid1d` folds more than 65,535
// workgroups into y (x then holds nwg.x of them per row).
fn workgroupIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.y * nwg.x + wid.x;
}

// The invocation's index in a 1-D launch of `grid1d(count, WG)`: one item per invocation.
fn globalIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return workgroupIndex(wid, nwg) * WG + lid.x;
}

// Where flat index i of a row-major array of `shape` (its first `rank` entries) lies in memory
// laid out with `stride`: Σ_d c_d·stride_d for the coordinates c of i. The two- and three-stride
// forms walk the coordinates once for several operands (broadcasting elementwise ops).
fn stridedOffset(i: u32, rank: u32, shape: Vec8, stride: Vec8) -> u32 {
  var rem = i;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = at8(shape, u32(d));
    off += (rem % s) * at8(stride, u32(d));
    rem = rem / s;
  }
  return off;
}

fn stridedOffset2(i: u32, rank: u32, shape: Vec8, sa: Vec8, sb: Vec8) -> vec2<u32> {
  var rem = i;
  var off = vec2<u32>(0u);
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = at8(shape, u32(d));
    let c = rem % s;
    rem = rem / s;
    off += c * vec2<u32>(at8(sa, u32(d)), at8(sb, u32(d)));
  }
  return off;
}

fn stridedOffset3(i: u32, rank: u32, shape: Vec8, sa: Vec8, sb: Vec8, sc: Vec8) -> vec3<u32> {
  var rem = i;
  var off = vec3<u32>(0u);
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = at8(shape, u32(d));
    let c = rem % s;
    rem = rem / s;
    off += c * vec3<u32>(at8(sa, u32(d)), at8(sb, u32(d)), at8(sc, u32(d)));
  }
  return off;
}
