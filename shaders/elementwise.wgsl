// Elementwise kernels. The template fills in the element types and the expression on `a` (and `b`,
// `c`), with scalar parameters `P.s0`, `P.s1`. Shapes and strides come as `vec8` uniforms (rank ≤ 8).

fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit), so GELU matches PyTorch's erf form.
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

fn phi_(x: f32) -> f32 { return INV_SQRT_2PI * exp(-0.5 * x * x); }

//!! unary
struct Params { n: u32, s0: f32, s1: f32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{TA}}>;
@group(0) @binding(2) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  let a = A[i];
  Out[i] = {{EXPR}};
}

//!! binary
struct Params { n: u32, rank: u32, s0: f32, s1: f32,
                shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{TA}}>;
@group(0) @binding(2) var<storage, read> B: array<{{TB}}>;
@group(0) @binding(3) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  var ia = i;
  var ib = i;
  // RANK = 0: same shapes, direct indexing. Otherwise the (coalesced) rank, a compile-time constant.
  if ({{RANK}} > 0) {
    var rem = i;
    ia = 0u;
    ib = 0u;
    for (var d = {{RANK}} - 1; d >= 0; d--) {
      let s = at8(P.shape, u32(d));
      let c = rem % s;
      rem = rem / s;
      ia += c * at8(P.sa, u32(d));
      ib += c * at8(P.sb, u32(d));
    }
  }
  let a = A[ia];
  let b = B[ib];
  Out[i] = {{EXPR}};
}

//!! ternary
struct Params { n: u32, rank: u32, pad0: u32, pad1: u32,
                shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2>,
                sc: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{TA}}>;
@group(0) @binding(2) var<storage, read> B: array<{{TB}}>;
@group(0) @binding(3) var<storage, read> C: array<{{TC}}>;
@group(0) @binding(4) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  var ic = 0u;
  for (var d = {{RANK}} - 1; d >= 0; d--) {
    let s = at8(P.shape, u32(d));
    let k = rem % s;
    rem = rem / s;
    ia += k * at8(P.sa, u32(d));
    ib += k * at8(P.sb, u32(d));
    ic += k * at8(P.sc, u32(d));
  }
  let a = A[ia];
  let b = B[ib];
  let c = C[ic];
  Out[i] = {{EXPR}};
}

//!! fill
struct Params { n: u32, value: {{T}}, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  Out[i] = P.value;
}
