// Fused scaled dot-product attention, flash-style: softmax(scale·Q·Kᵀ)·V without materialising the
// [Nq, Nk] score matrix. Q, dO, O are [B·H·Nq, DH] rows, K, V are [B·H·Nk, DH], all contiguous.
//
// One invocation owns SLOTS rows of one head (queries in `forward` and `backwardQuery`, keys in
// `backwardKey`) and keeps their DH-wide vectors in registers; every key (or query) it streams past
// is loaded once and used by all its slots. The loops over slots and over a row's DH4 vec4 chunks
// have constant trip counts and unroll, so the only loops left are those over keys or queries,
// whose trip count is what the software adapters' per-invocation loop cap sees. A head's last group
// may hold fewer than SLOTS rows: the spare slots recompute its last row and store nothing.
//
// No workgroup memory, no barriers, no atomics: the backward is split into a pass over queries
// (dQ, and δ = rowsum(dO∘O)) and a pass over keys (dK, dV), both recomputing the probabilities from
// the log-sum-exp the forward saved.
//
// Compiled in from kernels/attention.ts: DH (the head width), SLOTS, TILE, and RowT, the element
// type rows are bound as (vec4<f32> when DH is a multiple of 4, else f32). The slot ROWS holds each
// kernel's row loaders and storers for that element type (`loadQ(row) -> Row`, `storeO(row, r)`, …).

// A DH-wide row as DH4 vec4 chunks, the last one zero-padded when DH is not a multiple of 4.
const DH4: u32 = (DH + 3u) / 4u;
alias Row = array<vec4<f32>, DH4>;

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

// a + f·x
fn rowAxpy(a: Row, f: f32, x: Row) -> Row {
  var r: Row;
  for (var c = 0u; c < DH4; c++) { r[c] = a[c] + f * x[c]; }
  return r;
}

// Which head and which first row this invocation owns, for `rows` rows per head.
struct Group { head: u32, first: u32, valid: bool }

fn groupOf(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, rows: u32) -> Group {
  let id = globalIndex(wid, nwg, lid);
  let perHead = (rows + SLOTS - 1u) / SLOTS;
  return Group(id / perHead, (id % perHead) * SLOTS, id < P.groups);
}

// The row slot s of group g works on (a spare slot repeats the head's last row).
fn slotRow(g: Group, s: u32, rows: u32) -> u32 {
  return g.head * rows + min(g.first + s, rows - 1u);
}

//!! forward
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read_write> O: array<RowT>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;

{{ROWS}}

// Online softmax over tiles of TILE keys: the running maximum m and the rescaling of the sum l and
// the output accumulator a happen once per tile rather than once per key.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nq);
  if (!g.valid) { return; }
  let kv0 = g.head * P.nk;
  var q: array<Row, SLOTS>;   // the slots' queries, pre-scaled
  var a: array<Row, SLOTS>;
  var m: array<f32, SLOTS>;
  var l: array<f32, SLOTS>;
  var scores: array<array<f32, SLOTS>, TILE>;   // [key of the tile][slot]
  for (var s = 0u; s < SLOTS; s++) {
    q[s] = rowScaled(loadQ(slotRow(g, s, P.nq)), P.scale);
    m[s] = -3.0e38;
  }
  for (var j0 = 0u; j0 < P.nk; j0 += TILE) {
    let n = min(TILE, P.nk - j0);
    var mt = m;
    for (var t = 0u; t < n; t++) {
      let k = loadK(kv0 + j0 + t);
      for (var s = 0u; s < SLOTS; s++) {
        let x = rowDot(q[s], k);
        scores[t][s] = x;
        mt[s] = max(mt[s], x);
      }
    }
    // exp(m − mt) = 0 on the first tile: m starts far below any score.
    for (var s = 0u; s < SLOTS; s++) {
      let alpha = exp(m[s] - mt[s]);
      l[s] *= alpha;
      a[s] = rowScaled(a[s], alpha);
    }
    for (var t = 0u; t < n; t++) {
      let v = loadV(kv0 + j0 + t);
      for (var s = 0u; s < SLOTS; s++) {
        let p = exp(scores[t][s] - mt[s]);
        l[s] += p;
        a[s] = rowAxpy(a[s], p, v);
      }
    }
    m = mt;
  }
  for (var s = 0u; s < SLOTS; s++) {
    if (g.first + s < P.nq) {
      let row = slotRow(g, s, P.nq);
      storeO(row, rowScaled(a[s], 1.0 / l[s]));
      LSE[row] = m[s] + log(l[s]);
    }
  }
}

//!! backwardQuery
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read> O: array<RowT>;
@group(0) @binding(5) var<storage, read> DO: array<RowT>;
@group(0) @binding(6) var<storage, read> LSE: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: array<RowT>;
@group(0) @binding(8) var<storage, read_write> DELTA: array<f32>;

{{ROWS}}

// dS = P ∘ (dO·Vᵀ − δ) with δ_i = Σ_d dO_id·O_id; dQ = scale · dS·K. δ is written for backwardKey.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nq);
  if (!g.valid) { return; }
  let kv0 = g.head * P.nk;
  var q: array<Row, SLOTS>;   // pre-scaled
  var dO: array<Row, SLOTS>;
  var delta: array<f32, SLOTS>;
  var lse: array<f32, SLOTS>;
  var a: array<Row, SLOTS>;
  for (var s = 0u; s < SLOTS; s++) {
    let row = slotRow(g, s, P.nq);
    q[s] = rowScaled(loadQ(row), P.scale);
    dO[s] = loadDO(row);
    delta[s] = rowDot(dO[s], loadO(row));
    lse[s] = LSE[row];
  }
  for (var j = 0u; j < P.nk; j++) {
    let k = loadK(kv0 + j);
    let v = loadV(kv0 + j);
    for (var s = 0u; s < SLOTS; s++) {
      let p = exp(rowDot(q[s], k) - lse[s]);
      let ds = p * (rowDot(dO[s], v) - delta[s]);
      a[s] = rowAxpy(a[s], ds, k);
    }
  }
  for (var s = 0u; s < SLOTS; s++) {
    if (g.first + s < P.nq) {
      let row = slotRow(g, s, P.nq);
      storeDQ(row, rowScaled(a[s], P.scale));
      DELTA[row] = delta[s];
    }
  }
}

//!! backwardKey
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read> DO: array<RowT>;
@group(0) @binding(5) var<storage, read> LSE: array<f32>;
@group(0) @binding(6) var<storage, read> DELTA: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: array<RowT>;
@group(0) @binding(8) var<storage, read_write> DV: array<RowT>;

{{ROWS}}

// For key j: dV_j = Σ_i P_ij·dO_i, dK_j = scale · Σ_i dS_ij·Q_i.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nk);
  if (!g.valid) { return; }
  let q0 = g.head * P.nq;
  var k: array<Row, SLOTS>;   // pre-scaled
  var v: array<Row, SLOTS>;
  var dk: array<Row, SLOTS>;
  var dv: array<Row, SLOTS>;
  for (var s = 0u; s < SLOTS; s++) {
    let row = slotRow(g, s, P.nk);
    k[s] = rowScaled(loadK(row), P.scale);
    v[s] = loadV(row);
  }
  for (var i = 0u; i < P.nq; i++) {
    let lse = LSE[q0 + i];
    let delta = DELTA[q0 + i];
    let q = loadQ(q0 + i);
    let d = loadDO(q0 + i);
    for (var s = 0u; s < SLOTS; s++) {
      let p = exp(rowDot(k[s], q) - lse);
      dv[s] = rowAxpy(dv[s], p, d);
      let ds = p * (rowDot(v[s], d) - delta);
      dk[s] = rowAxpy(dk[s], ds, q);
    }
  }
  for (var s = 0u; s < SLOTS; s++) {
    if (g.first + s < P.nk) {
      let row = slotRow(g, s, P.nk);
      storeDK(row, rowScaled(dk[s], P.scale));
      storeDV(row, dv[s]);
    }
  }
}
