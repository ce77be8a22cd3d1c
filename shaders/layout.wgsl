// Data movement: a strided gather (permute, expand, slice: out[i] = X[offset + Σ c_d·stride_d]) and
// a strided scatter (concat, pad: Out[offset + Σ c_d·stride_d] = X[i]), over the output's (gather) or
// the input's (scatter) index space. Rank ≤ 8; shapes and strides in uniforms, T the element type.

@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read_write> Out: array<T>;

//!! gather
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  Out[i] = X[P.offset + stridedOffset(i, P.rank, &P.shape, &P.stride)];
}

//!! scatter
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  Out[P.offset + stridedOffset(i, P.rank, &P.shape, &P.stride)] = X[i];
}
