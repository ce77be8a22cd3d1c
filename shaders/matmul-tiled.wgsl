//!! main
// matmul's GPU kernel (kernels/matmul-tiled.ts): Out[z] = op(A[z]) · op(B[z]) (+ bias over columns)
// on the workgroup-memory tile of shaders/tiled-gemm.wgsl, one TM × TN tile of one batch entry per
// workgroup. The kernel is `main` plus one A loader and one B loader section, each reading along its
// operand's stored rows (vec4 where those rows are a multiple of 4 long): op(A) = A [M, K] along k,
// Aᵀ with A [K, M] along m; op(B) = B [K, N] along n, Bᵀ with B [N, K] along k (`linear`).
// Consecutive invocations store consecutive quads of a row (LANES_ALONG_M false).
// Split-K as in shaders/matmul.wgsl: one dispatch covers k in [kBegin, kEnd); with `accumulate` it
// adds to Out (only where a software adapter's loop cap asks for chunks).

@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

// Offsets of this workgroup's batch entry in A and B.
var<private> aBase: u32;
var<private> bBase: u32;

/** Bias, accumulation and the store of row m's 4 columns from n (those inside M × N). */
fn emit(outBase: u32, m: u32, n: u32, acc: vec4<f32>) {
  if (m >= P.M) { return; }
  let i = outBase + m * P.N + n;
  var v = acc;
  if (P.hasBias != 0u) { v += vec4<f32>(Bias[min(n, P.N - 1u)], Bias[min(n + 1u, P.N - 1u)], Bias[min(n + 2u, P.N - 1u)], Bias[min(n + 3u, P.N - 1u)]); }
  if (n + 3u < P.N) {
    if (P.accumulate != 0u) { v += vec4<f32>(Out[i], Out[i + 1u], Out[i + 2u], Out[i + 3u]); }
    Out[i] = v.x; Out[i + 1u] = v.y; Out[i + 2u] = v.z; Out[i + 3u] = v.w;
    return;
  }
  for (var c = 0u; c < 3u; c++) {
    if (n + c < P.N) { Out[i + c] = v[c] + select(0.0, Out[i + c], P.accumulate != 0u); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.tiles) { return; }   // uniform: the whole workgroup leaves
  let m0 = (w / P.tilesN) * TM;
  let n0 = (w % P.tilesN) * TN;
  let z = wid.z + P.batchBase;
  let bases = stridedOffset2(z, P.batchRank, &P.batchShape, &P.aBatchStride, &P.bBatchStride);
  aBase = bases.x;
  bBase = bases.y;
  let c = gemmTile(lid.x, m0, n0, P.kBegin, P.kEnd);
  let o = blockOrigin(lid.x, m0, n0);
  let outBase = z * P.M * P.N;
  emit(outBase, o.x, o.y, vec4<f32>(c.c0.x, c.c1.x, c.c2.x, c.c3.x));
  emit(outBase, o.x + 1u, o.y, vec4<f32>(c.c0.y, c.c1.y, c.c2.y, c.c3.y));
  emit(outBase, o.x + 2u, o.y, vec4<f32>(c.c0.z, c.c1.z, c.c2.z, c.c3.z));
  emit(outBase, o.x + 3u, o.y, vec4<f32>(c.c0.w, c.c1.w, c.c2.w, c.c3.w));
}

// Loaders. Rows past M (columns past N) read a clamped row and are never stored; k past K is masked
// by the core, so only the address needs to stay inside the operand.

//!! aAlongKVec
// op(A) = A stored [M, K], K % 4 == 0: A[m, k .. k+3] is one aligned vec4.
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
fn loadA(m: u32, k: u32) -> vec4<f32> {
  return A[(aBase + min(m, P.M - 1u) * P.K + min(k, P.K - 4u)) / 4u];
}

//!! aAlongKScalar
@group(0) @binding(1) var<storage, read> A: array<f32>;
fn loadA(m: u32, k: u32) -> vec4<f32> {
  let i = aBase + min(m, P.M - 1u) * P.K;
  let last = P.K - 1u;
  return vec4<f32>(A[i + min(k, last)], A[i + min(k + 1u, last)], A[i + min(k + 2u, last)], A[i + min(k + 3u, last)]);
}

//!! aAlongMVec
// op(A) = Aᵀ, A stored [K, M], M % 4 == 0: A[k][m .. m+3] is one aligned vec4.
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
fn loadA(m: u32, k: u32) -> vec4<f32> {
  return A[(aBase + min(k, P.K - 1u) * P.M + min(m, P.M - 4u)) / 4u];
}

//!! aAlongMScalar
@group(0) @binding(1) var<storage, read> A: array<f32>;
fn loadA(m: u32, k: u32) -> vec4<f32> {
  let i = aBase + min(k, P.K - 1u) * P.M;
  let last = P.M - 1u;
  return vec4<f32>(A[i + min(m, last)], A[i + min(m + 1u, last)], A[i + min(m + 2u, last)], A[i + min(m + 3u, last)]);
}

//!! bAlongNVec
// op(B) = B stored [K, N], N % 4 == 0.
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
fn loadB(k: u32, n: u32) -> vec4<f32> {
  return B[(bBase + min(k, P.K - 1u) * P.N + min(n, P.N - 4u)) / 4u];
}

//!! bAlongNScalar
@group(0) @binding(2) var<storage, read> B: array<f32>;
fn loadB(k: u32, n: u32) -> vec4<f32> {
  let i = bBase + min(k, P.K - 1u) * P.N;
  let last = P.N - 1u;
  return vec4<f32>(B[i + min(n, last)], B[i + min(n + 1u, last)], B[i + min(n + 2u, last)], B[i + min(n + 3u, last)]);
}

//!! bAlongKVec
// op(B) = Bᵀ, B stored [N, K], K % 4 == 0 (`linear`'s weight): consecutive invocations read
// consecutive vec4s of a row of B.
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
fn loadB(k: u32, n: u32) -> vec4<f32> {
  return B[(bBase + min(n, P.N - 1u) * P.K + min(k, P.K - 4u)) / 4u];
}

//!! bAlongKScalar
@group(0) @binding(2) var<storage, read> B: array<f32>;
fn loadB(k: u32, n: u32) -> vec4<f32> {
  let i = bBase + min(n, P.N - 1u) * P.K;
  let last = P.K - 1u;
  return vec4<f32>(B[i + min(k, last)], B[i + min(k + 1u, last)], B[i + min(k + 2u, last)], B[i + min(k + 3u, last)]);
}
