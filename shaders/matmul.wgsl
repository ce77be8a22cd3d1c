//!! main
// Batched matrix multiply: Out[z] = op(A[z]) · op(B[z]) (+ bias over columns), op = transpose or not.
// The kernel is `main` plus one A loader and one B loader section (each declaring its binding),
// chosen by kernels/matmul.ts; TRANS_A and TRANS_B say which operands are stored transposed.
//
// Register tiles: each invocation accumulates TM rows × 4·TC columns in vec4 registers (the sizes,
// and the four slots DECLARE, STEP, TAIL and STORE holding the tile's statements unrolled, come from
// kernels/matmul.ts), the WG invocations of a workgroup side by side along N. So every A address
// depends only on the workgroup, never on the invocation: divergence analysis sees a uniform address
// and llvmpipe and lavapipe load it once for all SIMD lanes instead of gathering per lane. That,
// vec4 loads and K stepping by 4 is what makes this beat shared-memory tiling ~2× on software
// adapters.
//
// Loaders return 4×4 blocks as mat4x4: aTile(m, k) column r = op(A)[m + r, k .. k+3] and
// bTile(k, n) column j = op(B)[k + j, n .. n+3], so one step is `acc_r += bTile * aTile[r]`. vec4
// loaders need the stored rows to be a multiple of 4 long (alignment); transposed layouts load
// vec4s along the stored rows and transpose the block (free in llvmpipe's one-register-per-
// component layout). The scalar loaders serve every other shape. Rows past M read clamped rows,
// columns past N read whatever WebGPU's robust access returns; neither is ever stored.
//
// Split-K: one dispatch covers k in [kBegin, kEnd); with `accumulate` it adds to what Out holds, so
// long K runs as several dispatches (software adapters cap an invocation's loops; see
// kernels/loop-budget.ts).

@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

/** Offsets of op(A)[m, k] and op(B)[k, n] inside one matrix (they encode the transposes). */
fn aIndex(m: u32, k: u32) -> u32 {
  if (TRANS_A) { return k * P.M + m; }
  return m * P.K + k;
}
fn bIndex(k: u32, n: u32) -> u32 {
  if (TRANS_B) { return n * P.K + k; }
  return k * P.N + n;
}

/** op(B)[k, n .. n+3] elementwise (the K tail). */
fn bRow(base: u32, k: u32, n: u32) -> vec4<f32> {
  return vec4<f32>(bAt(base + bIndex(k, n)), bAt(base + bIndex(k, n + 1u)),
                   bAt(base + bIndex(k, n + 2u)), bAt(base + bIndex(k, n + 3u)));
}

/** Bias, accumulation and the store of one row's 4 columns (only those inside M × N). */
fn emit(outBase: u32, m: u32, n: u32, acc: vec4<f32>) {
  if (m >= P.M) { return; }
  let i = outBase + m * P.N + n;
  var v = acc;
  if (P.hasBias != 0u) { v += vec4<f32>(Bias[n], Bias[n + 1u], Bias[n + 2u], Bias[n + 3u]); }
  if (P.accumulate != 0u) { v += vec4<f32>(Out[i], Out[i + 1u], Out[i + 2u], Out[i + 3u]); }
  if (n + 3u < P.N) {
    Out[i] = v.x; Out[i + 1u] = v.y; Out[i + 2u] = v.z; Out[i + 3u] = v.w;
    return;
  }
  if (n < P.N) { Out[i] = v.x; }
  if (n + 1u < P.N) { Out[i + 1u] = v.y; }
  if (n + 2u < P.N) { Out[i + 2u] = v.z; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  let n0 = ((w % P.tilesN) * WG + lid.x) * (4u * TC);
  // No barriers below, so invocations without work may leave (whole idle SIMD groups cost nothing).
  if (w >= P.tiles || n0 >= P.N) { return; }
  let m0 = (w / P.tilesN) * TM;

  let z = wid.z + P.batchBase;
  let bases = stridedOffset2(z, P.batchRank, &P.batchShape, &P.aBatchStride, &P.bBatchStride);
  let aBase = bases.x;
  let bBase = bases.y;
  let last = P.M - 1u;

{{DECLARE}}
  var k = P.kBegin;
  let steps = (P.kEnd - P.kBegin) / 4u;
  for (var s = 0u; s < steps; s++) {
{{STEP}}
    k += 4u;
  }
  for (; k < P.kEnd; k++) {
{{TAIL}}
  }

  let outBase = z * P.M * P.N;
{{STORE}}
}

//!! aRowsVec
// op(A) = A stored [M, K] with K % 4 == 0, bound as vec4s.
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
fn aAt(i: u32) -> f32 { return A[i / 4u][i % 4u]; }
fn aTile(base: u32, m: u32, k: u32) -> mat4x4<f32> {
  let last = P.M - 1u;
  return mat4x4<f32>(A[(base + min(m, last) * P.K + k) / 4u], A[(base + min(m + 1u, last) * P.K + k) / 4u],
                     A[(base + min(m + 2u, last) * P.K + k) / 4u], A[(base + min(m + 3u, last) * P.K + k) / 4u]);
}

//!! aColsVec
// op(A) = Aᵀ, A stored [K, M] with M % 4 == 0, bound as vec4s (m is a multiple of 4).
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
fn aAt(i: u32) -> f32 { return A[i / 4u][i % 4u]; }
fn aTile(base: u32, m: u32, k: u32) -> mat4x4<f32> {
  let i = (base + k * P.M + min(m, P.M - 4u)) / 4u;
  let q = P.M / 4u;
  return transpose(mat4x4<f32>(A[i], A[i + q], A[i + 2u * q], A[i + 3u * q]));
}

//!! aScalar
@group(0) @binding(1) var<storage, read> A: array<f32>;
fn aAt(i: u32) -> f32 { return A[i]; }
fn aRow(base: u32, m: u32, k: u32) -> vec4<f32> {
  let r = min(m, P.M - 1u);
  return vec4<f32>(aAt(base + aIndex(r, k)), aAt(base + aIndex(r, k + 1u)),
                   aAt(base + aIndex(r, k + 2u)), aAt(base + aIndex(r, k + 3u)));
}
fn aTile(base: u32, m: u32, k: u32) -> mat4x4<f32> {
  return mat4x4<f32>(aRow(base, m, k), aRow(base, m + 1u, k), aRow(base, m + 2u, k), aRow(base, m + 3u, k));
}

//!! bRowsVec
// op(B) = B stored [K, N] with N % 4 == 0, bound as vec4s.
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
fn bAt(i: u32) -> f32 { return B[i / 4u][i % 4u]; }
fn bTile(base: u32, k: u32, n: u32) -> mat4x4<f32> {
  let i = (base + k * P.N + n) / 4u;
  let q = P.N / 4u;
  return mat4x4<f32>(B[i], B[i + q], B[i + 2u * q], B[i + 3u * q]);
}

//!! bColsVec
// op(B) = Bᵀ, B stored [N, K] with K % 4 == 0, bound as vec4s.
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
fn bAt(i: u32) -> f32 { return B[i / 4u][i % 4u]; }
fn bTile(base: u32, k: u32, n: u32) -> mat4x4<f32> {
  let i = (base + n * P.K + k) / 4u;
  let q = P.K / 4u;
  return transpose(mat4x4<f32>(B[i], B[i + q], B[i + 2u * q], B[i + 3u * q]));
}

//!! bScalar
@group(0) @binding(2) var<storage, read> B: array<f32>;
fn bAt(i: u32) -> f32 { return B[i]; }
fn bTile(base: u32, k: u32, n: u32) -> mat4x4<f32> {
  return mat4x4<f32>(bRow(base, k, n), bRow(base, k + 1u, n), bRow(base, k + 2u, n), bRow(base, k + 3u, n));
}
