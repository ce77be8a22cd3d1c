//!! core
// The GPU-shaped GEMM tile (kernels/tiled-gemm.ts), shared by matmul's and conv2d's GPU kernels:
// a workgroup of WG = 256 invocations computes a TM × TN tile of C = A·B, each invocation a 4 × 4
// block of it in registers. Per step of BK along k the workgroup stages A[TM, BK] and B[BK, TN] in
// workgroup memory, each invocation loading a few quads (4 consecutive elements, consecutive
// invocations on consecutive quads: coalesced), then every invocation reads its 4 rows of A and 4
// columns of B from there for BK steps of 16 FMAs.
//
// The including kernel defines the loaders, which say where A and B come from (a matrix, an im2col
// gather, a convolution's output gradient); what they return past the matrix's edges is never stored
// (rows past M, columns past N) or is masked here (k past kEnd):
//   fn loadA(m: u32, k: u32) -> vec4<f32>   A_ALONG_M: A[m .. m+3, k];  else A[m, k .. k+3]
//   fn loadB(k: u32, n: u32) -> vec4<f32>   B_ALONG_N: B[k, n .. n+3];  else B[k .. k+3, n]
// (the direction in which its memory is contiguous, so that consecutive invocations read consecutive
// addresses), and calls gemmTile from uniform control flow with every invocation of the workgroup.
// LANES_ALONG_M says which way consecutive invocations' blocks lie (along the output's contiguous
// axis, for coalesced stores). AROW, BROW: row lengths of the staged tiles in vec4s (TM/4, TN/4, plus
// one where quads along k are scattered into them, which spreads those stores over the banks).
// Stage, StageQuad: the staged element type, f32 or, with SRASEG_F16=1 (kernels/variant.ts), f16:
// operands rounded to half precision once as they are staged (half the workgroup memory and its
// traffic), products and sums in f32.

const TMQ: u32 = TM / 4u;
const TNQ: u32 = TN / 4u;
const BKQ: u32 = BK / 4u;

// As[k · AROW + i] = A[m0 + 4i .. 4i + 3, k0 + k];  Bs[k · BROW + j] = B[k0 + k, n0 + 4j .. 4j + 3].
var<workgroup> As: array<StageQuad, BK * AROW>;
var<workgroup> Bs: array<StageQuad, BK * BROW>;

// An invocation's 4 × 4 block: c_j = C[m .. m+3, n + j] for (m, n) = blockOrigin.
struct Block { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }

fn blockOrigin(t: u32, m0: u32, n0: u32) -> vec2<u32> {
  if (LANES_ALONG_M) { return vec2<u32>(m0 + 4u * (t % TMQ), n0 + 4u * (t / TMQ)); }
  return vec2<u32>(m0 + 4u * (t / TNQ), n0 + 4u * (t % TNQ));
}

// Zero the components of a quad along k at k0 .. k0+3 that lie at or past kEnd.
fn maskK(v: vec4<f32>, k0: u32, kEnd: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), v, vec4<u32>(k0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(kEnd));
}

fn stage(t: u32, m0: u32, n0: u32, k0: u32, kEnd: u32) {
  for (var q = t; q < BK * TMQ; q += WG) {
    if (A_ALONG_M) {
      let k = q / TMQ;
      let i = q % TMQ;
      As[k * AROW + i] = StageQuad(select(vec4<f32>(0.0), loadA(m0 + 4u * i, k0 + k), k0 + k < kEnd));
    } else {
      let m = q / BKQ;
      let kq = 4u * (q % BKQ);
      let v = maskK(loadA(m0 + m, k0 + kq), k0 + kq, kEnd);
      let at = kq * AROW + m / 4u;
      let c = m % 4u;
      As[at][c] = Stage(v.x);
      As[at + AROW][c] = Stage(v.y);
      As[at + 2u * AROW][c] = Stage(v.z);
      As[at + 3u * AROW][c] = Stage(v.w);
    }
  }
  for (var q = t; q < BK * TNQ; q += WG) {
    if (B_ALONG_N) {
      let k = q / TNQ;
      let j = q % TNQ;
      Bs[k * BROW + j] = StageQuad(select(vec4<f32>(0.0), loadB(k0 + k, n0 + 4u * j), k0 + k < kEnd));
    } else {
      let n = q / BKQ;
      let kq = 4u * (q % BKQ);
      let v = maskK(loadB(k0 + kq, n0 + n), k0 + kq, kEnd);
      let at = kq * BROW + n / 4u;
      let c = n % 4u;
      Bs[at][c] = Stage(v.x);
      Bs[at + BROW][c] = Stage(v.y);
      Bs[at + 2u * BROW][c] = Stage(v.z);
      Bs[at + 3u * BROW][c] = Stage(v.w);
    }
  }
}

// C[m0 .. m0+TM, n0 .. n0+TN] summed over k in [kBegin, kEnd): this invocation's block. kBegin is a
// multiple of 4 (quads along k start aligned).
fn gemmTile(t: u32, m0: u32, n0: u32, kBegin: u32, kEnd: u32) -> Block {
  let o = blockOrigin(t, m0, n0);
  let bm = (o.x - m0) / 4u;
  let bn = (o.y - n0) / 4u;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    stage(t, m0, n0, k0, kEnd);
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a = vec4<f32>(As[k * AROW + bm]);
      let b = vec4<f32>(Bs[k * BROW + bn]);
      c0 += a * b.x;
      c1 += a * b.y;
      c2 += a * b.z;
      c3 += a * b.w;
    }
    workgroupBarrier();
  }
  return Block(c0, c1, c2, c3);
}
