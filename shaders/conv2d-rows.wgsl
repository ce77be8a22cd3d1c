// The stride-1, dilation-1 fast path of 2-D convolutions (every 3×3, 1×1 convolution of a UNet, and
// the input gradient run as a flipped forward convolution; kernels/conv2d-rows.ts). The source is
// first copied (`padRows`, `padRowsVec4`) into a zero-padded layout whose rows are a multiple of 4
// long, so an invocation of `rowsForward` or `rowsWeightGrad` reads the source window of a whole
// kernel row as a few aligned vec4 loads, without bounds tests, and every tap of that row takes its
// pixels from the same registers. Their slot BODY is that code for one source channel (or one row
// segment), unrolled over the kernel's rows and taps by kernels/conv2d-rows.ts: the window's pixels
// are picked from vec4 registers by constant component (as WGSL loops, the same kind of unrolling
// left conv2d-direct's weightGrad accumulators in memory, 2.5–3.4× slower).
// The other slots are small: STORE_QUAD and GRAD_QUAD move 4 pixels as one vec4 or element by
// element (OutT, GradT), CHANNELS names the output channels' planes for BODY.
//
// Why loads are what these kernels economise: llvmpipe (Mesa 22.3) performs a storage-buffer load
// inside a loop lane by lane, one scalar per lane and component, even where the address is the same
// for all lanes (measured: the weights were no cheaper through a uniform buffer, and replacing
// their loads by arithmetic made the forward kernel 1.7× faster). So the tiles maximise FMAs per
// loaded component, within ~64 accumulator floats per invocation (more spill and lose).

//!! padRows
// Out[plane][r][j] = Src[plane][r − padY][j − padX], 0 outside the source.
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
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
@group(0) @binding(1) var<storage, read> Src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<OutT>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;   // read only when HAS_BIAS

// Output channel `ch` of group `g` at 4 adjacent pixels from (oy, ox0), those inside the row; one
// vec4 store where rows are a multiple of 4 long.
fn storeQuad(n: u32, g: u32, ch: u32, oy: u32, ox0: u32, v: vec4<f32>) {
  if (ch >= P.cd || ox0 >= P.dstW) { return; }
  let channel = g * P.cd + ch;
  var r = v;
  if (HAS_BIAS) { r += vec4<f32>(Bias[channel]); }
  let base = ((n * P.dstC + channel) * P.dstH + oy) * P.dstW + ox0;
  {{STORE_QUAD}}
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let seg = (wid.z * P.foldX + wid.x) * WG + lid.x;
  if (seg >= P.nSegs) { return; }
  let block = wid.y;
  let g = block / P.blocksPerGroup;
  let d0 = (block % P.blocksPerGroup) * TC;
  let ox0 = (seg % P.segsPerRow) * PX;
  let row = seg / P.segsPerRow;
  let oy = row % P.dstH;
  let n = row / P.dstH;
  var acc: array<vec4<f32>, (PX / 4u) * TC>;
  var wi = block * P.cs * TAPS * TC4;
  var at = ((n * P.srcC + g * P.cs) * P.srcHp + oy) * P.srcWp4 + ox0 / 4u;
  let planeSize = P.srcHp * P.srcWp4;
  for (var c = 0u; c < P.cs; c++) {
    {{BODY}}
    wi += TAPS * TC4;
    at += planeSize;
  }
  for (var h = 0u; h < PX / 4u; h++) {
    for (var j = 0u; j < TC; j++) { storeQuad(n, g, d0 + j, oy, ox0 + 4u * h, acc[h * TC + j]); }
  }
}

//!! rowsWeightGrad
// One invocation: input channel ci (its lane) × TCO output channels × every tap, summed over one
// chunk of row segments of PX output pixels: per segment TCO·PX/4 output-gradient vec4s and per
// kernel row one window of the padded source feed TCO·taps·PX FMAs.
@group(0) @binding(1) var<storage, read> Src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> G: array<GradT>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

// The output gradient at pixels ox0 .. ox0 + 3 of a row (`base` is pixel ox0's index), 0 past the
// row's end; one vec4 load where rows are a multiple of 4 long.
fn gradQuad(base: u32, ox0: u32) -> vec4<f32> {
  {{GRAD_QUAD}}
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = wid.x;
  let chunk = wid.y;
  let ciGroup = tile % P.ciGroups;
  let cb = (tile / P.ciGroups) % P.coBlocks;
  let g = tile / P.ciGroups / P.coBlocks;
  let ci = ciGroup * WG + lid.x;
  // Lanes past the group's channels read channel cs − 1 and store nothing.
  let ciRead = min(ci, P.cs - 1u);
  let co0 = cb * TCO;
  let gPlane = P.dstH * P.dstW;
  let lastCo = P.cd - 1u;
  // ch0, ch1, …: where the planes of output channels co0, co0 + 1, … start (past the group's end:
  // its last channel, never stored).
  {{CHANNELS}}
  // acc[tap · TCO/4 + q]: output channels co0 + 4q .. 4q + 3 at that tap.
  var acc: array<vec4<f32>, TAPS * (TCO / 4u)>;
  let segEnd = min(P.nSegs, (chunk + 1u) * P.segsPerChunk);
  for (var seg = chunk * P.segsPerChunk; seg < segEnd; seg++) {
    let ox0 = (seg % P.segsPerRow) * PX;
    let row = seg / P.segsPerRow;
    let oy = row % P.dstH;
    let n = row / P.dstH;
    let gRow = (n * P.dstC + g * P.cd) * gPlane + oy * P.dstW + ox0;
    let at = ((n * P.srcC + g * P.cs + ciRead) * P.srcHp + oy) * P.srcWp4 + ox0 / 4u;
    {{BODY}}
  }
  if (ci >= P.cs) { return; }
  // Out[chunk][co][ci][tap]
  let outBase = chunk * P.weightSize + ((g * P.cd + co0) * P.cs + ci) * TAPS;
  let coStride = P.cs * TAPS;
  for (var j = 0u; j < TCO; j++) {
    if (co0 + j < P.cd) {
      for (var t = 0u; t < TAPS; t++) { Out[outBase + j * coStride + t] = acc[t * (TCO / 4u) + j / 4u][j % 4u]; }
    }
  }
}
