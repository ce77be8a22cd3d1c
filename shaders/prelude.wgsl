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
// forms walk the coordinates once for several operands (broadcasting elementwise ops). The vectors
// come as pointers into the uniforms (`&P.shape`) and each operand's offset is its own scalar: with
// the vectors passed by value (copied at every call), or the offsets summed as one vec2, a broadcast
// add measured 3–10% slower on llvmpipe than the same walk written inline.
fn stridedOffset(i: u32, rank: u32, shape: ptr<uniform, Vec8>, stride: ptr<uniform, Vec8>) -> u32 {
  var rem = i;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = (*shape)[d / 4][d % 4];
    off += (rem % s) * (*stride)[d / 4][d % 4];
    rem = rem / s;
  }
  return off;
}

fn stridedOffset2(i: u32, rank: u32, shape: ptr<uniform, Vec8>, sa: ptr<uniform, Vec8>, sb: ptr<uniform, Vec8>) -> vec2<u32> {
  var rem = i;
  var a = 0u;
  var b = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = (*shape)[d / 4][d % 4];
    let c = rem % s;
    rem = rem / s;
    a += c * (*sa)[d / 4][d % 4];
    b += c * (*sb)[d / 4][d % 4];
  }
  return vec2<u32>(a, b);
}

fn stridedOffset3(i: u32, rank: u32, shape: ptr<uniform, Vec8>, sa: ptr<uniform, Vec8>, sb: ptr<uniform, Vec8>,
                  sc: ptr<uniform, Vec8>) -> vec3<u32> {
  var rem = i;
  var a = 0u;
  var b = 0u;
  var c3 = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = (*shape)[d / 4][d % 4];
    let c = rem % s;
    rem = rem / s;
    a += c * (*sa)[d / 4][d % 4];
    b += c * (*sb)[d / 4][d % 4];
    c3 += c * (*sc)[d / 4][d % 4];
  }
  return vec3<u32>(a, b, c3);
}
