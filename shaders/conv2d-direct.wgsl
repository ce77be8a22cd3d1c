// 2-D convolutions (NCHW) as implicit GEMM with register tiles, the shape that runs best on llvmpipe
// (several outputs per invocation, vec4 arithmetic, 64 invocations, no shared memory): the direct
// kernels for any stride, padding, dilation and groups (kernels/conv2d-direct.ts).
//
// `gather`: each output pixel gathers from a source image through a weight tensor. Forward, a
//   convolution (source = x, output = y); TRANSPOSED, the input gradient / transposed convolution
//   (source = dy, output = dx). One invocation computes 4 adjacent output pixels × TC output
//   channels; the weights were first repacked (shaders/conv2d-weights.wgsl) so that the TC channels
//   of one tap are contiguous vec4s.
// `weightGrad`: one invocation computes a partial sum over a chunk of output pixels for 4 output
//   channels × every tap of one input channel (split-K: the host sums the chunks). The 4 pixels of a
//   quad ride in the vec4 lanes of the accumulators.
// gather's loops over the channel tile have constant trip counts (TC is compiled in) and unroll,
// which keeps the accumulators in registers; weightGrad's taps are unrolled by kernels/conv2d-direct.ts
// into its two slots, TAP_BODY and STORE (WGSL loops over them measured 2.5–3.4× slower: llvmpipe
// left those accumulators in memory).
//
// Coordinates: `o` is an output coordinate, `k` a kernel tap. Both return -1 where no source exists.

// Forward: the source coordinate of output `o` under tap `k`.
fn coordForward4(o: vec4<i32>, k: i32, stride: i32, pad: i32, dil: i32, size: u32) -> vec4<i32> {
  let t = o * stride - vec4<i32>(pad - k * dil);
  return select(vec4<i32>(-1), t, (t >= vec4<i32>(0)) & (t < vec4<i32>(i32(size))));
}

// Transposed: the source coordinate s with s·stride − pad + k·dil = o, when one exists.
fn coordTransposed4(o: vec4<i32>, k: i32, stride: i32, pad: i32, dil: i32, size: u32) -> vec4<i32> {
  let t = o + vec4<i32>(pad - k * dil);
  let s = t / vec4<i32>(stride);
  return select(vec4<i32>(-1), s, (t >= vec4<i32>(0)) & (s * stride == t) & (s < vec4<i32>(i32(size))));
}

//!! gather
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;   // read only when HAS_BIAS

// The source coordinate of output `o` under tap `k`: forward, or transposed (TRANSPOSED).
fn coord4(o: vec4<i32>, k: i32, stride: i32, pad: i32, dil: i32, size: u32) -> vec4<i32> {
  if (TRANSPOSED) { return coordTransposed4(o, k, stride, pad, dil, size); }
  return coordForward4(o, k, stride, pad, dil, size);
}

// Output channel `ch` of group `g` at 4 adjacent pixels from (oy, ox0); columns past the row's end
// and channels past the group's end are skipped.
fn storeQuad(n: u32, g: u32, ch: u32, oy: u32, ox0: u32, v: vec4<f32>) {
  if (ch >= P.cd) { return; }
  let channel = g * P.cd + ch;
  var r = v;
  if (HAS_BIAS) { r += vec4<f32>(Bias[channel]); }
  let base = ((n * P.dstC + channel) * P.dstH + oy) * P.dstW + ox0;
  Out[base] = r.x;
  if (ox0 + 1u < P.dstW) { Out[base + 1u] = r.y; }
  if (ox0 + 2u < P.dstW) { Out[base + 2u] = r.z; }
  if (ox0 + 3u < P.dstW) { Out[base + 3u] = r.w; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let quad = (wid.z * P.foldX + wid.x) * WG + lid.x;
  if (quad >= P.nQuads) { return; }
  let block = wid.y;
  let g = block / P.blocksPerGroup;
  let d0 = (block % P.blocksPerGroup) * TC;
  let ox0 = (quad % P.quadsPerRow) * 4u;
  let row = quad / P.quadsPerRow;
  let oy = row % P.dstH;
  let n = row / P.dstH;
  let ox = vec4<i32>(i32(ox0)) + vec4<i32>(0, 1, 2, 3);
  let planeSize = P.srcH * P.srcW;
  var acc: array<vec4<f32>, TC>;
  var wi = block * P.cs * u32(KH * KW) * TC4;
  var plane = (n * P.srcC + g * P.cs) * planeSize;
  for (var c = 0u; c < P.cs; c++) {
    for (var ky = 0; ky < KH; ky++) {
      let iy = coord4(vec4<i32>(i32(oy)), ky, P.strideY, P.padY, P.dilY, P.srcH).x;
      let rowStart = plane + u32(max(iy, 0)) * P.srcW;
      for (var kx = 0; kx < KW; kx++) {
        let ix = coord4(ox, kx, P.strideX, P.padX, P.dilX, P.srcW);
        let at = vec4<u32>(max(ix, vec4<i32>(0))) + rowStart;
        let v = select(vec4<f32>(0.0), vec4<f32>(Src[at.x], Src[at.y], Src[at.z], Src[at.w]),
                       (ix >= vec4<i32>(0)) & vec4<bool>(iy >= 0));
        // 4 pixels (v) × TC channels, the weights read as TC/4 vec4s.
        for (var q = 0u; q < TC4; q++) {
          let w = Wp[wi + q];
          for (var l = 0u; l < 4u; l++) { acc[4u * q + l] += v * w[l]; }
        }
        wi += TC4;
      }
    }
    plane += planeSize;
  }
  for (var j = 0u; j < TC; j++) { storeQuad(n, g, d0 + j, oy, ox0, acc[j]); }
}

//!! weightGrad
// Invocation → (tile, chunk); tile → (group, block of 4 output channels, input channel).
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

// The output gradient at 4 adjacent pixels of one channel plane, 0 past the row's end.
fn loadG(base: u32, ox0: u32) -> vec4<f32> {
  let last = P.dstW - 1u;
  let v = vec4<f32>(G[base], G[base + min(1u, last - ox0)], G[base + min(2u, last - ox0)], G[base + min(3u, last - ox0)]);
  return select(vec4<f32>(0.0), v, (vec4<u32>(ox0) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(P.dstW));
}

fn loadSrc(rowStart: u32, iy: i32, ix: vec4<i32>) -> vec4<f32> {
  let at = vec4<u32>(max(ix, vec4<i32>(0))) + rowStart;
  return select(vec4<f32>(0.0), vec4<f32>(Src[at.x], Src[at.y], Src[at.z], Src[at.w]),
                (ix >= vec4<i32>(0)) & vec4<bool>(iy >= 0));
}

// Partial sums for 4 output channels (cho0 + c) of one input channel, over one chunk of pixel quads.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = globalIndex(wid, nwg, lid);
  let tile = id % P.nTiles;
  let chunk = id / P.nTiles;
  if (chunk >= P.nChunks) { return; }
  let ci = tile % P.cs;
  let cb = (tile / P.cs) % P.coBlocks;
  let g = tile / P.cs / P.coBlocks;
  let co0 = cb * 4u;
  // Channels past the group's end read channel co0 (valid) and are never stored.
  let gPlane = P.dstH * P.dstW;
  let chOff = vec4<u32>(g * P.cd + co0) + min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(P.cd - 1u - co0));
  var acc: array<vec4<f32>, 4u * TAPS>;
  let qEnd = min(P.nQuads, (chunk + 1u) * P.quadsPerChunk);
  for (var q = chunk * P.quadsPerChunk; q < qEnd; q++) {
    let ox0 = (q % P.quadsPerRow) * 4u;
    let row = q / P.quadsPerRow;
    let oy = row % P.dstH;
    let n = row / P.dstH;
    let gBase = n * P.dstC * gPlane + oy * P.dstW + ox0;
    let g0 = loadG(gBase + chOff.x * gPlane, ox0);
    let g1 = loadG(gBase + chOff.y * gPlane, ox0);
    let g2 = loadG(gBase + chOff.z * gPlane, ox0);
    let g3 = loadG(gBase + chOff.w * gPlane, ox0);
    let ox = vec4<i32>(i32(ox0)) + vec4<i32>(0, 1, 2, 3);
    let plane = (n * P.srcC + g * P.cs + ci) * P.srcH * P.srcW;
    {{TAP_BODY}}
  }
  // Out[chunk][co][ci][tap]
  let outBase = chunk * P.weightSize + ((g * P.cd + co0) * P.cs + ci) * TAPS;
  let ones = vec4<f32>(1.0);
  {{STORE}}
}
