// Softmax and log-softmax along one axis of any tensor, in one kernel. The input is seen as
// [outer, C, inner] (C = the axis), so a row is C elements `inner` apart: no transpose is needed for
// the class axis of NCHW. Numerically stable: an online pass keeps the running maximum m and the
// sum s of exp(x − m), rescaling s whenever m grows; a second pass writes the slot RESULT (an
// expression in x, m and s). `rows`: one invocation per row (short rows). `tree`: one workgroup of
// WG per row, merging the invocations' (m, s) pairs in shared memory. Longer rows never reach this
// shader: they run as chunked reductions over many workgroups (kernels/softmax.ts).

@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

// Offset of a row's first element: row r = (o, i) with o < outer, i < inner.
fn rowBase(r: u32) -> u32 {
  return (r / P.inner) * P.C * P.inner + r % P.inner;
}

// Merge two partial (max, sum of exp(x − max)) pairs.
fn mergeMs(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// Add one element to a (max, sum) pair with a single exp.
fn pushMs(a: vec2<f32>, x: f32) -> vec2<f32> {
  let e = exp(-abs(x - a.x));
  return select(vec2<f32>(a.x, a.y + e), vec2<f32>(x, a.y * e + 1.0), x > a.x);
}

//!! rows
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = globalIndex(wid, nwg, lid);
  if (r >= P.rows) { return; }
  let base = rowBase(r);
  var ms = vec2<f32>(-3.4e38, 0.0);
  for (var c = 0u; c < P.C; c++) {
    ms = pushMs(ms, X[base + c * P.inner]);
  }
  let m = ms.x;
  let s = ms.y;
  for (var c = 0u; c < P.C; c++) {
    let x = X[base + c * P.inner];
    Y[base + c * P.inner] = {{RESULT}};
  }
}

//!! tree
var<workgroup> sMs: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = workgroupIndex(wid, nwg);
  // Uniform control flow for the barriers: out-of-range workgroups still take part, writing nothing.
  let valid = r < P.rows;
  let base = select(0u, rowBase(r), valid);
  let n = select(0u, P.C, valid);
  var ms = vec2<f32>(-3.4e38, 0.0);
  for (var c = lid.x; c < n; c += WG) {
    ms = pushMs(ms, X[base + c * P.inner]);
  }
  sMs[lid.x] = ms;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h >> 1u) {
    if (lid.x < h) { sMs[lid.x] = mergeMs(sMs[lid.x], sMs[lid.x + h]); }
    workgroupBarrier();
  }
  let m = sMs[0].x;
  let s = sMs[0].y;
  for (var c = lid.x; c < n; c += WG) {
    let x = X[base + c * P.inner];
    Y[base + c * P.inner] = {{RESULT}};
  }
}
