// Reductions over any set of axes. The input is seen as [kept…, reduced…] through two stride
// vectors, so no transpose is needed. The slots INIT, COMBINE, MERGE and RESULT define the
// reduction (sum, max, argmax; kernels/reduce.ts), RED_OFFSET the offset of reduced
// element k (one strided run, or the general walk). T is the input's element type, TOut the output's.
// `rowwise`: one invocation per output (few reduced elements). `tree`: one workgroup per (output,
// chunk of the reduced elements), WG invocations striding over the chunk, then a shared-memory tree.
// Long reductions run as two passes over chunks: on real GPUs one workgroup per output starves the
// device, and a chunk keeps each invocation's loop short (software adapters cap loops, see
// kernels/loop-budget.ts).

@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Out: array<TOut>;

fn baseOffset(o: u32) -> u32 {
  return stridedOffset(o, P.rankK, &P.kShape, &P.kStride);
}

fn redOffsetStrided(k: u32) -> u32 {
  return stridedOffset(k, P.rankR, &P.rShape, &P.rStride);
}

//!! rowwise
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let o = globalIndex(wid, nwg, lid);
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
var<workgroup> sAcc: array<f32, WG>;
var<workgroup> sArg: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  let o = w / P.nChunks;
  let valid = o < P.nOut;
  let base = select(0u, baseOffset(o), valid);
  let kEnd = min(P.nRed, (w % P.nChunks + 1u) * P.chunk);
  var acc: f32 = {{INIT}};
  var arg: u32 = 0u;
  if (valid) {
    for (var k = (w % P.nChunks) * P.chunk + lid.x; k < kEnd; k += WG) {
      let v = f32(X[base + {{RED_OFFSET}}]);
      {{COMBINE}}
    }
  }
  sAcc[lid.x] = acc;
  sArg[lid.x] = arg;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
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
