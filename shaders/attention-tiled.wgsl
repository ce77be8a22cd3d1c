// Fused attention's GPU kernels (kernels/attention.ts, where `gpuKernels()` says so): the same
// flash-style algorithm and log-sum-exp contract as shaders/attention.wgsl, with the rows streamed
// past an invocation staged in workgroup memory and shared by the WG rows of a workgroup.
//
// A workgroup owns WG consecutive rows of one head (queries in `forwardTiled` and
// `backwardQueryTiled`, keys in `backwardKeyTiled`), one row per invocation, its DH-wide vectors in
// registers. Per tile of BKV keys (queries), the workgroup loads the tile's rows into workgroup
// memory — consecutive invocations on consecutive vec4s of a row: coalesced — then every invocation
// reads them from there (the same address for all: a broadcast). A head's last tile stages clamped
// rows past its end and uses only its real ones; invocations past the head's end compute a clamped
// row and store nothing, but take part in every load and barrier.
//
// Compiled in from kernels/attention.ts: DH, BKV, WG, RowT (vec4<f32> rows when DH % 4 == 0, else
// f32); the slot ROWS holds the row loaders, storers and chunk loaders (`chunkK(row, c)`: vec4 c of
// a row) for that element type, and for the streamed buffers their workgroup tiles (`Ks`, `Vs` …),
// row dot products with a tile row (`dotK(x, t)` …) and `stageTiles`, which fills the tiles.

const DH4: u32 = (DH + 3u) / 4u;
alias Row = array<vec4<f32>, DH4>;
const FAR: f32 = -3.0e38;   // below any score

fn rowDot(a: Row, b: Row) -> f32 {
  var s = dot(a[0], b[0]);
  for (var c = 1u; c < DH4; c++) { s += dot(a[c], b[c]); }
  return s;
}

fn rowScaled(a: Row, f: f32) -> Row {
  var r: Row;
  for (var c = 0u; c < DH4; c++) { r[c] = a[c] * f; }
  return r;
}

// This invocation's row of a head with `rows` rows (clamped: `valid` says whether it is real).
struct Place { head: u32, index: u32, row: u32, valid: bool }

fn placeOf(w: u32, lid: u32, rows: u32) -> Place {
  let perHead = (rows + WG - 1u) / WG;
  let head = w / perHead;
  let index = (w % perHead) * WG + lid;
  return Place(head, index, head * rows + min(index, rows - 1u), index < rows);
}

//!! forwardTiled
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read_write> O: array<RowT>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;

{{ROWS}}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.groups) { return; }   // uniform: the whole workgroup leaves
  let me = placeOf(w, lid.x, P.nq);
  let kv0 = me.head * P.nk;
  let q = rowScaled(loadQ(me.row), P.scale);
  var a: Row;
  var m = FAR;
  var l = 0.0;
  for (var j0 = 0u; j0 < P.nk; j0 += BKV) {
    stageTiles(kv0, j0, P.nk, lid.x);
    workgroupBarrier();
    // Online softmax key by key, the sum and accumulator rescaled only when the maximum rises (on
    // the first key they are still 0). The tile's real keys only: a loop of uniform, run-time length
    // (a constant one is unrolled whole by shader compilers: llvmpipe took minutes over it).
    for (var t = 0u; t < min(BKV, P.nk - j0); t++) {
      let x = dotK(q, t);
      if (x > m) {
        let alpha = exp(m - x);
        l *= alpha;
        a = rowScaled(a, alpha);
        m = x;
      }
      let p = exp(x - m);
      l += p;
      for (var c = 0u; c < DH4; c++) { a[c] += p * Vs[t * DH4 + c]; }
    }
    workgroupBarrier();
  }
  if (me.valid) {
    storeO(me.row, rowScaled(a, 1.0 / l));
    LSE[me.row] = m + log(l);
  }
}

//!! backwardQueryTiled
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read> O: array<RowT>;
@group(0) @binding(5) var<storage, read> DO: array<RowT>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: array<RowT>;
@group(0) @binding(8) var<storage, read_write> DELTA: array<f32>;

{{ROWS}}

// dS = P ∘ (dO·Vᵀ − δ) with δ_i = Σ_d dO_id·O_id; dQ = scale · dS·K. δ is written for backwardKeyTiled.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.groups) { return; }   // uniform
  let me = placeOf(w, lid.x, P.nq);
  let kv0 = me.head * P.nk;
  let q = rowScaled(loadQ(me.row), P.scale);
  let dO = loadDO(me.row);
  let delta = rowDot(dO, loadO(me.row));
  let lse = LSE[me.row];
  var a: Row;
  for (var j0 = 0u; j0 < P.nk; j0 += BKV) {
    stageTiles(kv0, j0, P.nk, lid.x);
    workgroupBarrier();
    for (var t = 0u; t < min(BKV, P.nk - j0); t++) {
      let p = exp(dotK(q, t) - lse);
      let ds = p * (dotV(dO, t) - delta);
      for (var c = 0u; c < DH4; c++) { a[c] += ds * Ks[t * DH4 + c]; }
    }
    workgroupBarrier();
  }
  if (me.valid) {
    storeDQ(me.row, rowScaled(a, P.scale));
    DELTA[me.row] = delta;
  }
}

//!! backwardKeyTiled
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read> DO: array<RowT>;
@group(0) @binding(5) var<storage, read> LSE: array<f32>;
@group(0) @binding(6) var<storage, read> DELTA: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: array<RowT>;
@group(0) @binding(8) var<storage, read_write> DV: array<RowT>;

var<workgroup> Ls: array<f32, BKV>;
var<workgroup> Ds: array<f32, BKV>;

{{ROWS}}

// For key j: dV_j = Σ_i P_ij·dO_i, dK_j = scale · Σ_i dS_ij·Q_i.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = workgroupIndex(wid, nwg);
  if (w >= P.groups) { return; }   // uniform
  let me = placeOf(w, lid.x, P.nk);
  let q0 = me.head * P.nq;
  let k = rowScaled(loadK(me.row), P.scale);
  let v = loadV(me.row);
  var dk: Row;
  var dv: Row;
  for (var i0 = 0u; i0 < P.nq; i0 += BKV) {
    stageTiles(q0, i0, P.nq, lid.x);
    for (var t = lid.x; t < BKV; t += WG) {
      let r = q0 + min(i0 + t, P.nq - 1u);
      Ls[t] = LSE[r];
      Ds[t] = DELTA[r];
    }
    workgroupBarrier();
    for (var t = 0u; t < min(BKV, P.nq - i0); t++) {
      let p = exp(dotQ(k, t) - Ls[t]);
      let ds = p * (dotDO(v, t) - Ds[t]);
      for (var c = 0u; c < DH4; c++) {
        dv[c] += p * DOs[t * DH4 + c];
        dk[c] += ds * Qs[t * DH4 + c];
      }
    }
    workgroupBarrier();
  }
  if (me.valid) {
    storeDK(me.row, rowScaled(dk, P.scale));
    storeDV(me.row, dv);
  }
}
