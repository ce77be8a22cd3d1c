// Reductions over any set of axes. The input is seen as [kept…, reduced…] through two stride
// vectors, so no transpose is needed. {{INIT}}/{{COMBINE}} define the reduction (sum, max, argmax).
// `rowwise`: one invocation per output (few reduced elements). `tree`: one workgroup per (output,
// chunk of the reduced elements), 256 invocations striding over the chunk, then a shared-memory tree.
// Long reductions run as two passes over chunks: llvmpipe caps a loop at 65,535 iterations per
// workgroup (it silently stops early), and on real GPUs one workgroup per output starves the device.

struct Params { nOut: u32, nRed: u32, rankK: u32, rankR: u32,
                kShape: array<vec4<u32>, 2>, kStride: array<vec4<u32>, 2>,
                rShape: array<vec4<u32>, 2>, rStride: array<vec4<u32>, 2>, scale: f32,
                chunk: u32, nChunks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> Out: array<{{TOUT}}>;

fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }

fn baseOffset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var d = i32(P.rankK) - 1; d >= 0; d--) {
    let s = at8(P.kShape, u32(d));
    off += (rem % s) * at8(P.kStride, u32(d));
    rem = rem / s;
  }
  return off;
}

fn redOffsetStrided(k: u32) -> u32 {
  var rem = k;
  var off = 0u;
  for (var d = i32(P.rankR) - 1; d >= 0; d--) {
    let s = at8(P.rShape, u32(d));
    off += (rem % s) * at8(P.rStride, u32(d));
    rem = rem / s;
  }
  return off;
}

//!! rowwise
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let o = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  if (o >= P.nOut) { return; }
  let base = baseOffset(o);
  var acc: f32 = {{INIT}};
  var arg: u32 = 0u;
  for (var k = 0u; k < P.nRed; k++) {
    let v = f32(X[base + {{RED_OFFSET}}]);
    {{COMBINE}}
  }
  Out[o] = {{RESULT}};
}

//!! tree
var<workgroup> sAcc: array<f32, 256>;
var<workgroup> sArg: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wid.y * nwg.x + wid.x;
  let o = w / P.nChunks;
  let valid = o < P.nOut;
  let base = select(0u, baseOffset(o), valid);
  let kEnd = min(P.nRed, (w % P.nChunks + 1u) * P.chunk);
  var acc: f32 = {{INIT}};
  var arg: u32 = 0u;
  if (valid) {
    for (var k = (w % P.nChunks) * P.chunk + lid.x; k < kEnd; k += 256u) {
      let v = f32(X[base + {{RED_OFFSET}}]);
      {{COMBINE}}
    }
  }
  sAcc[lid.x] = acc;
  sArg[lid.x] = arg;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      let v = sAcc[lid.x + s];
      let k = sArg[lid.x + s];
      acc = sAcc[lid.x];
      arg = sArg[lid.x];
      {{MERGE}}
      sAcc[lid.x] = acc;
      sArg[lid.x] = arg;
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && valid) {
    acc = sAcc[0];
    arg = sArg[0];
    Out[w] = {{RESULT}};
  }
}
