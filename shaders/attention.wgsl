// Fused scaled dot-product attention, flash-style: softmax(scale·Q·Kᵀ)·V without materialising the
// [Nq, Nk] score matrix. Q, dO, O are [B·H·Nq, DH] rows, K, V are [B·H·Nk, DH], all contiguous.
//
// One invocation owns SLOTS rows of one head (queries in `forward` and `backwardQuery`, keys in
// `backwardKey`) and keeps their DH-wide vectors in registers; every key (or query) it streams past
// is loaded once and used by all its slots. kernels/attention.ts generates the straight-line code
// of the named blocks below: DH-long loops unrolled into vec4 statements, repeated per slot (slot s
// owns registers q{s}_c, a{s}_c, ...). So the only loops are over keys or queries, whose trip count
// is what llvmpipe's per-invocation loop cap sees. A head's last group may hold fewer than SLOTS
// rows: the spare slots recompute its last row and store nothing.
//
// No workgroup memory, no barriers, no atomics: the backward is split into a pass over queries
// (dQ, and δ = rowsum(dO∘O)) and a pass over keys (dK, dV), both recomputing the probabilities from
// the log-sum-exp the forward saved.

// Which head and which first row this invocation owns, for `rows` rows per head.
struct Group { head: u32, first: u32, valid: bool }

fn groupOf(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, rows: u32) -> Group {
  let id = globalIndex(wid, nwg, lid);
  let perHead = (rows + SLOTS - 1u) / SLOTS;
  return Group(id / perHead, (id % perHead) * SLOTS, id < P.groups);
}

//!! forward
@group(0) @binding(1) var<storage, read> Q: array<RowT>;
@group(0) @binding(2) var<storage, read> K: array<RowT>;
@group(0) @binding(3) var<storage, read> V: array<RowT>;
@group(0) @binding(4) var<storage, read_write> O: array<RowT>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nq);
  if (!g.valid) { return; }
  let kv0 = g.head * P.nk * DH;
{{QUERY_ROWS}}
{{LOAD_Q_SCALED}}
{{INIT_SOFTMAX}}
  for (var j0 = 0u; j0 < P.nk; j0 += TILE) {
    let n = min(TILE, P.nk - j0);
{{TILE_START}}
    for (var t = 0u; t < n; t++) {
      let kb = kv0 + (j0 + t) * DH;
{{LOAD_K}}
{{SCORES}}
    }
{{RESCALE}}
    for (var t = 0u; t < n; t++) {
      let vb = kv0 + (j0 + t) * DH;
{{LOAD_V}}
{{ACCUMULATE_PV}}
    }
{{TILE_END}}
  }
{{STORE_O_LSE}}
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

// dS = P ∘ (dO·Vᵀ − δ) with δ_i = Σ_d dO_id·O_id; dQ = scale · dS·K. δ is written for backwardKey.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nq);
  if (!g.valid) { return; }
  let kv0 = g.head * P.nk * DH;
{{QUERY_ROWS}}
{{LOAD_Q_SCALED}}
{{LOAD_DO_DELTA_LSE}}
  for (var j = 0u; j < P.nk; j++) {
    let kb = kv0 + j * DH;
    let vb = kb;
{{LOAD_K}}
{{LOAD_V}}
{{ACCUMULATE_DQ}}
  }
{{STORE_DQ_DELTA}}
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

// For key j: dV_j = Σ_i P_ij·dO_i, dK_j = scale · Σ_i dS_ij·Q_i.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = groupOf(wid, nwg, lid, P.nk);
  if (!g.valid) { return; }
  let q0 = g.head * P.nq;
{{KEY_ROWS}}
{{LOAD_K_SCALED_V}}
  for (var i = 0u; i < P.nq; i++) {
    let qr = q0 + i;
    let qb = qr * DH;
    let lse = LSE[qr];
    let delta = DELTA[qr];
{{LOAD_Q_DO}}
{{ACCUMULATE_DK_DV}}
  }
{{STORE_DK_DV}}
}
