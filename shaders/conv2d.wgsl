// 2-D convolutions (NCHW) as implicit GEMM with register tiles, the shape that runs best on llvmpipe
// (several outputs per invocation, vec4 arithmetic, 64 invocations, no shared memory).
//
// `gather`: each output pixel gathers from a source image through a weight tensor. Forward, a
//   convolution (source = x, output = y); transposed, the input gradient / transposed convolution
//   (source = dy, output = dx). One invocation computes 4 adjacent output pixels × TC output
//   channels; the weights were first repacked (`packWeights`) so that the TC channels of one tap
//   are contiguous vec4s.
// `weightGrad`: one invocation computes a partial sum over a chunk of output pixels for 4 output
//   channels × every tap of one input channel (split-K: the host sums the chunks). The 4 pixels of a
//   quad ride in the vec4 lanes of the accumulators.
//
// `padRows(Vec4)`, `rowsForward`, `rowsWeightGrad`: the stride-1, dilation-1 fast path (every 3×3, 1×1
//   convolution of a UNet, and the input gradient run as a flipped forward convolution). The source
//   is first copied into a zero-padded layout whose rows are a multiple of 4 long, so an invocation
//   reads the source window of a whole kernel row as a few aligned vec4 loads, without bounds tests,
//   and every tap of that row takes its pixels from the same registers.
//   Why loads are what these kernels economise: llvmpipe (Mesa 22.3) performs a storage-buffer load
//   inside a loop lane by lane, one scalar per lane and component, even where the address is the same
//   for all lanes (measured: the weights were no cheaper through a uniform buffer, and replacing
//   their loads by arithmetic made the forward kernel 1.7× faster). So the tiles maximise FMAs per
//   loaded component, within ~64 accumulator floats per invocation (more spill and lose).
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

//!! packWeights
// Packed[block][s][tap][j] = weight of (destination channel block·TC + j, source channel s, tap), 0
// past the group's last destination channel. The strides say where those axes lie in the original;
// `flip` reverses the taps (a stride-1 transposed convolution run as a forward one).
struct Params { n: u32, tc: u32, taps: u32, cs: u32, cd: u32, blocksPerGroup: u32,
                groupStride: u32, dStride: u32, sStride: u32, flip: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  let j = i % P.tc;
  var r = i / P.tc;
  let tap = r % P.taps;
  r = r / P.taps;
  let s = r % P.cs;
  let block = r / P.cs;
  let g = block / P.blocksPerGroup;
  let d = (block % P.blocksPerGroup) * P.tc + j;
  let inside = d < P.cd;
  let srcTap = select(tap, P.taps - 1u - tap, P.flip == 1u);
  Out[i] = select(0.0, Src[select(0u, g * P.groupStride + d * P.dStride + s * P.sStride + srcTap, inside)], inside);
}

//!! gather
struct Params { nQuads: u32, quadsPerRow: u32, foldX: u32, blocksPerGroup: u32,
                srcC: u32, srcH: u32, srcW: u32, cs: u32,
                dstC: u32, dstH: u32, dstW: u32, cd: u32,
                strideY: i32, strideX: i32, padY: i32, padX: i32, dilY: i32, dilX: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
{{BIAS_BINDING}}

const KH: i32 = {{KH}};
const KW: i32 = {{KW}};

// Output channel `ch` of group `g` at 4 adjacent pixels from (oy, ox0); columns past the row's end
// and channels past the group's end are skipped.
fn storeQuad(n: u32, g: u32, ch: u32, oy: u32, ox0: u32, v: vec4<f32>) {
  if (ch >= P.cd) { return; }
  let channel = g * P.cd + ch;
  let r = v + {{BIAS}};
  let base = ((n * P.dstC + channel) * P.dstH + oy) * P.dstW + ox0;
  Out[base] = r.x;
  if (ox0 + 1u < P.dstW) { Out[base + 1u] = r.y; }
  if (ox0 + 2u < P.dstW) { Out[base + 2u] = r.z; }
  if (ox0 + 3u < P.dstW) { Out[base + 3u] = r.w; }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let quad = (wid.z * P.foldX + wid.x) * 64u + lid.x;
  if (quad >= P.nQuads) { return; }
  let block = wid.y;
  let g = block / P.blocksPerGroup;
  let d0 = (block % P.blocksPerGroup) * {{TC}}u;
  let ox0 = (quad % P.quadsPerRow) * 4u;
  let row = quad / P.quadsPerRow;
  let oy = row % P.dstH;
  let n = row / P.dstH;
  let ox = vec4<i32>(i32(ox0)) + vec4<i32>(0, 1, 2, 3);
  let planeSize = P.srcH * P.srcW;
  {{ACC_DECL}}
  var wi = block * P.cs * u32(KH * KW) * {{TC4}}u;
  var plane = (n * P.srcC + g * P.cs) * planeSize;
  for (var c = 0u; c < P.cs; c++) {
    for (var ky = 0; ky < KH; ky++) {
      let iy = {{COORD}}(vec4<i32>(i32(oy)), ky, P.strideY, P.padY, P.dilY, P.srcH).x;
      let rowStart = plane + u32(max(iy, 0)) * P.srcW;
      for (var kx = 0; kx < KW; kx++) {
        let ix = {{COORD}}(ox, kx, P.strideX, P.padX, P.dilX, P.srcW);
        let at = vec4<u32>(max(ix, vec4<i32>(0))) + rowStart;
        let v = select(vec4<f32>(0.0), vec4<f32>(Src[at.x], Src[at.y], Src[at.z], Src[at.w]),
                       (ix >= vec4<i32>(0)) & vec4<bool>(iy >= 0));
        {{FMA}}
        wi += {{TC4}}u;
      }
    }
    plane += planeSize;
  }
  {{STORE}}
}

//!! weightGrad
// Invocation → (tile, chunk); tile → (group, block of 4 output channels, input channel).
struct Params { nTiles: u32, nChunks: u32, quadsPerChunk: u32, nQuads: u32,
                quadsPerRow: u32, coBlocks: u32, cs: u32, cd: u32,
                srcC: u32, srcH: u32, srcW: u32, dstC: u32,
                dstH: u32, dstW: u32, weightSize: u32, pad0: u32,
                strideY: i32, strideX: i32, padY: i32, padX: i32, dilY: i32, dilX: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

const KH: i32 = {{KH}};
const KW: i32 = {{KW}};
const TAPS: u32 = {{TAPS}}u;

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
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = (wid.y * nwg.x + wid.x) * 64u + lid.x;
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
  var acc: array<vec4<f32>, {{ACC_LEN}}>;
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

//!! padRows
// Out[plane][r][j] = Src[plane][r − padY][j − padX], 0 outside the source.
struct Params { n: u32, outH: u32, outW: u32, srcH: u32, srcW: u32, padY: i32, padX: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= P.n) { return; }
  let x = i32(i % P.outW) - P.padX;
  let rows = i / P.outW;
  let y = i32(rows % P.outH) - P.padY;
  let plane = rows / P.outH;
  let inside = x >= 0 && x < i32(P.srcW) && y >= 0 && y < i32(P.srcH);
  let at = select(0u, (plane * P.srcH + u32(y)) * P.srcW + u32(x), inside);
  Out[i] = select(0.0, Src[at], inside);
}

//!! padRowsVec4
// padRows for sources whose rows are a multiple of 4 long: one invocation writes up to 16 padded
// columns from 5 aligned source vec4s (a third of padRows' loads, which are its cost).
struct Params { n: u32, outH: u32, outW: u32, segsPerRow: u32, srcH: u32, srcW: u32, padY: i32, padX: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Out: array<vec4<f32>>;

// Elements s .. s + 3 of the 8 in (lo, hi).
fn shifted(lo: vec4<f32>, hi: vec4<f32>, s: i32) -> vec4<f32> {
  let one = vec4<f32>(lo.y, lo.z, lo.w, hi.x);
  let two = vec4<f32>(lo.z, lo.w, hi.x, hi.y);
  let three = vec4<f32>(lo.w, hi.x, hi.y, hi.z);
  return select(select(select(lo, one, s == 1), two, s == 2), three, s == 3);
}

// Padded columns j0 + 4k .. j0 + 4k + 3 from source columns base + 4k .. (zeros outside the source).
fn emit(outRow: u32, j0: i32, k: i32, base: i32, rowOk: bool, lo: vec4<f32>, hi: vec4<f32>, s: i32) {
  if (u32(j0 + 4 * k) >= P.outW) { return; }
  let col = vec4<i32>(base + 4 * k) + vec4<i32>(0, 1, 2, 3);
  let inside = (col >= vec4<i32>(0)) & (col < vec4<i32>(i32(P.srcW))) & vec4<bool>(rowOk);
  Out[(outRow + u32(j0 + 4 * k)) / 4u] = select(vec4<f32>(0.0), shifted(lo, hi, s), inside);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  if (i >= P.n) { return; }
  let j0 = i32(i % P.segsPerRow) * 16;
  let rows = i / P.segsPerRow;
  let y = i32(rows % P.outH) - P.padY;
  let plane = rows / P.outH;
  // Source columns base .. base + 15: `a` is the aligned vec4 holding column base, s its place in it.
  let base = j0 - P.padX;
  let s = ((base % 4) + 4) % 4;
  let a = (base - s) / 4;
  let rowOk = y >= 0 && y < i32(P.srcH);
  let rowAt = i32((plane * P.srcH + u32(clamp(y, 0, i32(P.srcH) - 1))) * (P.srcW / 4u));
  let last = i32(P.srcW / 4u) - 1;
  let v0 = Src[rowAt + clamp(a, 0, last)];
  let v1 = Src[rowAt + clamp(a + 1, 0, last)];
  let v2 = Src[rowAt + clamp(a + 2, 0, last)];
  let v3 = Src[rowAt + clamp(a + 3, 0, last)];
  let v4 = Src[rowAt + clamp(a + 4, 0, last)];
  let outRow = rows * P.outW;
  emit(outRow, j0, 0, base, rowOk, v0, v1, s);
  emit(outRow, j0, 1, base, rowOk, v1, v2, s);
  emit(outRow, j0, 2, base, rowOk, v2, v3, s);
  emit(outRow, j0, 3, base, rowOk, v3, v4, s);
}

//!! rowsForward
// One invocation: PX adjacent output pixels of a row × TC output channels. Src is the padded source
// (rows srcWp4 vec4s long): output (oy, ox) under tap (ky, kx) reads padded (oy + ky, ox + kx).
struct Params { nSegs: u32, segsPerRow: u32, foldX: u32, blocksPerGroup: u32,
                srcC: u32, srcHp: u32, srcWp4: u32, cs: u32,
                dstC: u32, dstH: u32, dstW: u32, cd: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<{{OUT_TYPE}}>;
{{BIAS_BINDING}}

// Output channel `ch` of group `g` at 4 adjacent pixels from (oy, ox0), those inside the row; one
// vec4 store where rows are a multiple of 4 long.
fn storeQuad(n: u32, g: u32, ch: u32, oy: u32, ox0: u32, v: vec4<f32>) {
  if (ch >= P.cd || ox0 >= P.dstW) { return; }
  let channel = g * P.cd + ch;
  let r = v + {{BIAS}};
  let base = ((n * P.dstC + channel) * P.dstH + oy) * P.dstW + ox0;
  {{STORE_QUAD}}
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let seg = (wid.z * P.foldX + wid.x) * 64u + lid.x;
  if (seg >= P.nSegs) { return; }
  let block = wid.y;
  let g = block / P.blocksPerGroup;
  let d0 = (block % P.blocksPerGroup) * {{TC}}u;
  let ox0 = (seg % P.segsPerRow) * {{PX}}u;
  let row = seg / P.segsPerRow;
  let oy = row % P.dstH;
  let n = row / P.dstH;
  {{ACC_DECL}}
  var wi = block * P.cs * {{TAPS}}u * {{TC4}}u;
  var at = ((n * P.srcC + g * P.cs) * P.srcHp + oy) * P.srcWp4 + ox0 / 4u;
  let planeSize = P.srcHp * P.srcWp4;
  for (var c = 0u; c < P.cs; c++) {
    {{BODY}}
    wi += {{TAPS}}u * {{TC4}}u;
    at += planeSize;
  }
  {{STORE}}
}

//!! rowsWeightGrad
// One invocation: input channel ci (its lane) × TCO output channels × every tap, summed over one
// chunk of row segments of PX output pixels: per segment TCO·PX/4 output-gradient vec4s and per
// kernel row one window of the padded source feed TCO·taps·PX FMAs.
struct Params { nSegs: u32, segsPerRow: u32, segsPerChunk: u32, coBlocks: u32,
                ciGroups: u32, cs: u32, cd: u32, srcC: u32,
                srcHp: u32, srcWp4: u32, dstC: u32, dstH: u32,
                dstW: u32, weightSize: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> G: array<{{G_TYPE}}>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

// The output gradient at pixels ox0 .. ox0 + 3 of a row (`base` is pixel ox0's index), 0 past the
// row's end; one vec4 load where rows are a multiple of 4 long.
fn gradQuad(base: u32, ox0: u32) -> vec4<f32> {
  {{GRAD_QUAD}}
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = wid.x;
  let chunk = wid.y;
  let ciGroup = tile % P.ciGroups;
  let cb = (tile / P.ciGroups) % P.coBlocks;
  let g = tile / P.ciGroups / P.coBlocks;
  let ci = ciGroup * {{WG}}u + lid.x;
  // Lanes past the group's channels read channel cs − 1 and store nothing.
  let ciRead = min(ci, P.cs - 1u);
  let co0 = cb * {{TCO}}u;
  let gPlane = P.dstH * P.dstW;
  let lastCo = P.cd - 1u;
  // ch0, ch1, …: where the planes of output channels co0, co0 + 1, … start (past the group's end:
  // its last channel, never stored).
  {{CHANNELS}}
  // acc[tap · TCO/4 + q]: output channels co0 + 4q .. 4q + 3 at that tap.
  var acc: array<vec4<f32>, {{ACC_LEN}}>;
  let segEnd = min(P.nSegs, (chunk + 1u) * P.segsPerChunk);
  for (var seg = chunk * P.segsPerChunk; seg < segEnd; seg++) {
    let ox0 = (seg % P.segsPerRow) * {{PX}}u;
    let row = seg / P.segsPerRow;
    let oy = row % P.dstH;
    let n = row / P.dstH;
    let gRow = (n * P.dstC + g * P.cd) * gPlane + oy * P.dstW + ox0;
    let at = ((n * P.srcC + g * P.cs + ciRead) * P.srcHp + oy) * P.srcWp4 + ox0 / 4u;
    {{BODY}}
  }
  if (ci >= P.cs) { return; }
  // Out[chunk][co][ci][tap]
  let outBase = chunk * P.weightSize + ((g * P.cd + co0) * P.cs + ci) * {{TAPS}}u;
  let coStride = P.cs * {{TAPS}}u;
  {{STORE}}
}
