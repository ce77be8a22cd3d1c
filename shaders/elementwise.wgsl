// Elementwise kernels. kernels/elementwise.ts declares the uniforms `P` and the element types (TA,
// TB, TC of the operands, T of the result); the slot EXPR is the op's expression in `a` (and `b`,
// `c`) and the scalar parameters `P.s0`, `P.s1`. Shapes and strides are Vec8 uniforms (rank ≤ 8).

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
@group(0) @binding(1) var<storage, read> A: array<TA>;
@group(0) @binding(2) var<storage, read_write> Out: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let a = A[i];
  Out[i] = {{EXPR}};
}

//!! binary
@group(0) @binding(1) var<storage, read> A: array<TA>;
@group(0) @binding(2) var<storage, read> B: array<TB>;
@group(0) @binding(3) var<storage, read_write> Out: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  var ia = i;
  var ib = i;
  // RANK = 0: same shapes, direct indexing. Otherwise the (coalesced) rank, a compile-time constant,
  // so the walk over the dimensions unrolls.
  if (RANK > 0u) {
    let at = stridedOffset2(i, RANK, &P.shape, &P.sa, &P.sb);
    ia = at.x;
    ib = at.y;
  }
  let a = A[ia];
  let b = B[ib];
  Out[i] = {{EXPR}};
}

//!! ternary
@group(0) @binding(1) var<storage, read> A: array<TA>;
@group(0) @binding(2) var<storage, read> B: array<TB>;
@group(0) @binding(3) var<storage, read> C: array<TC>;
@group(0) @binding(4) var<storage, read_write> Out: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  let at = stridedOffset3(i, RANK, &P.shape, &P.sa, &P.sb, &P.sc);
  let a = A[at.x];
  let b = B[at.y];
  let c = C[at.z];
  Out[i] = {{EXPR}};
}

//!! fill
@group(0) @binding(1) var<storage, read_write> Out: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  Out[i] = P.value;
}
