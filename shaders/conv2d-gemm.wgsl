// conv2d's GPU kernels (kernels/conv2d-gemm.ts): implicit GEMM on the workgroup-memory tile of
// shaders/tiled-gemm.wgsl, the im2col matrix never stored — the loaders gather it.
//
// `gather`: C [pixels, channels] = im2col(src) [pixels, K] · W [K, channels] per group, with
//   K = Cs/groups · kh · kw ordered (source channel, tap). Forward coordinates (a convolution), or
//   TRANSPOSED ones (the input gradient at stride > 1: a source pixel exists only where the
//   coordinate divides by the stride). Consecutive invocations load and store consecutive pixels.
// `weightGrad`: C [Cd/groups, K] = dy [Cd/groups, pixels] · im2col(x) [pixels, K] per group, k being
//   the output gradient's pixels: one chunk of them per workgroup (split-K; the host sums the
//   chunks). Both operands are loaded along the pixels.
//
// Pixels are numbered (image, y, x) of the output (the destination of `gather`, dy of `weightGrad`);
// a quad of 4 consecutive pixels may cross rows and images. KH, KW and TAPS are compiled in; sizes,
// stride, padding and dilation are uniforms.

struct Pixel { img: u32, y: u32, x: u32 }

fn pixelAt(m: u32) -> Pixel {
  let row = m / P.dstW;
  return Pixel(row / P.dstH, row % P.dstH, m % P.dstW);
}

fn nextPixel(p: Pixel) -> Pixel {
  var q = p;
  q.x += 1u;
  if (q.x == P.dstW) {
    q.x = 0u;
    q.y += 1u;
    if (q.y == P.dstH) {
      q.y = 0u;
      q.img += 1u;
    }
  }
  return q;
}

// The source coordinate of output coordinate `o` under tap `k` along one axis, or -1 where there is none.
fn srcCoord(o: u32, k: u32, stride: i32, pad: i32, dil: i32, size: u32) -> i32 {
  if (TRANSPOSED) {
    let t = i32(o) + pad - i32(k) * dil;
    let s = t / stride;
    return select(-1, s, t >= 0 && s * stride == t && s < i32(size));
  }
  let t = i32(o) * stride - pad + i32(k) * dil;
  return select(-1, t, t >= 0 && t < i32(size));
}

// Source element (image, channel, ky, kx) seen from pixel p: its index, or -1 outside the source.
fn srcIndex(p: Pixel, channel: u32, ky: u32, kx: u32) -> i32 {
  let iy = srcCoord(p.y, ky, P.strideY, P.padY, P.dilY, P.srcH);
  let ix = srcCoord(p.x, kx, P.strideX, P.padX, P.dilX, P.srcW);
  if (iy < 0 || ix < 0 || p.img >= P.images) { return -1; }
  return i32(((p.img * P.srcC + channel) * P.srcH + u32(iy)) * P.srcW + u32(ix));
}

// The source under one (channel, tap) at pixels p0 .. p0+3 (0 outside it): a 4-wide im2col read,
// shared by the gather's A operand and the weight gradient's B operand.
fn im2col4(channel: u32, tap: u32, p0: u32) -> vec4<f32> {
  let ky = tap / KW;
  let kx = tap % KW;
  var p = pixelAt(p0);
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let at = srcIndex(p, channel, ky, kx);
    r[i] = select(0.0, Src[max(at, 0)], at >= 0);
    p = nextPixel(p);
  }
  return r;
}

//!! gather
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;   // read only when HAS_BIAS

var<private> gi: u32;   // the convolution group (wid.z)

// im2col: the source under k = (channel, tap) at pixels m .. m+3.
fn loadA(m: u32, k: u32) -> vec4<f32> {
  return im2col4(gi * P.cs + min(k / TAPS, P.cs - 1u), k % TAPS, m);
}

// The weights of destination channel n at k .. k+3 = (source channel, tap): the strides say where
// those axes lie (forward [Cd, Cs/g, kh, kw], or a stride-1 transposed convolution's [Cs, Cd/g, kh,
// kw] read with the taps reversed, FLIP).
fn loadB(k: u32, n: u32) -> vec4<f32> {
  let base = gi * P.groupStride + min(n, P.cd - 1u) * P.dStride;
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let s = (k + i) / TAPS;
    var tap = (k + i) % TAPS;
    if (FLIP) { tap = TAPS - 1u - tap; }
    r[i] = W[base + min(s, P.cs - 1u) * P.sStride + tap];
  }
  return r;
}

fn store(p: Pixel, d: u32, v: f32) {
  if (d >= P.cd) { return; }
  let channel = gi * P.cd + d;
  var r = v;
  if (HAS_BIAS) { r += Bias[channel]; }
  Out[((p.img * P.dstC + channel) * P.dstH + p.y) * P.dstW + p.x] = r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.tiles) { return; }   // uniform: the whole workgroup leaves
  gi = wid.z;
  let m0 = (w % P.tilesM) * TM;
  let n0 = (w / P.tilesM) * TN;
  let c = gemmTile(lid.x, m0, n0, 0u, P.K);
  let o = blockOrigin(lid.x, m0, n0);
  var p = pixelAt(o.x);
  for (var i = 0u; i < 4u; i++) {
    if (o.x + i < P.M) {
      store(p, o.y, c.c0[i]);
      store(p, o.y + 1u, c.c1[i]);
      store(p, o.y + 2u, c.c2[i]);
      store(p, o.y + 3u, c.c3[i]);
    }
    p = nextPixel(p);
  }
}

//!! weightGrad
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

var<private> gi: u32;   // the convolution group (wid.z)

// The output gradient of destination channel m at pixels k .. k+3.
fn loadA(m: u32, k: u32) -> vec4<f32> {
  let channel = gi * P.cd + min(m, P.cd - 1u);
  var p = pixelAt(k);
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let at = ((p.img * P.dstC + channel) * P.dstH + p.y) * P.dstW + p.x;
    r[i] = select(0.0, G[min(at, P.gradSize - 1u)], p.img < P.images);
    p = nextPixel(p);
  }
  return r;
}

// im2col: the source under column n = (source channel, tap) at pixels k .. k+3.
fn loadB(k: u32, n: u32) -> vec4<f32> {
  let col = min(n, P.N - 1u);
  return im2col4(gi * P.cs + col / TAPS, col % TAPS, k);
}

// Out[chunk][group · cd + m][n]: row m's 4 columns from n.
fn store(rowBase: u32, m: u32, n: u32, v: vec4<f32>) {
  if (m >= P.cd) { return; }
  let i = rowBase + m * P.N + n;
  for (var c = 0u; c < 4u; c++) {
    if (n + c < P.N) { Out[i + c] = v[c]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.tiles) { return; }   // uniform: the whole workgroup leaves
  gi = wid.z / P.chunks;
  let chunk = wid.z % P.chunks;
  let m0 = (w / P.tilesN) * TM;
  let n0 = (w % P.tilesN) * TN;
  let kBegin = chunk * P.kPerChunk;
  let c = gemmTile(lid.x, m0, n0, kBegin, min(P.K, kBegin + P.kPerChunk));
  let o = blockOrigin(lid.x, m0, n0);
  let rowBase = chunk * P.weightSize + gi * P.cd * P.N;
  store(rowBase, o.x, o.y, vec4<f32>(c.c0.x, c.c1.x, c.c2.x, c.c3.x));
  store(rowBase, o.x + 1u, o.y, vec4<f32>(c.c0.y, c.c1.y, c.c2.y, c.c3.y));
  store(rowBase, o.x + 2u, o.y, vec4<f32>(c.c0.z, c.c1.z, c.c2.z, c.c3.z));
  store(rowBase, o.x + 3u, o.y, vec4<f32>(c.c0.w, c.c1.w, c.c2.w, c.c3.w));
}
