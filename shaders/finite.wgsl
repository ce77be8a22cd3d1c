// The divergence watch's one kernel: Flags[slot] ← min(Flags[slot], iteration) when any element of X
// is NaN or ±Inf. The test is on the bit pattern (exponent all ones), not `x != x`, which a compiler
// may fold away. Only non-finite elements touch the atomic, so a healthy step costs one read of X and
// no contention. The flags are read back with the loss at log iterations, never per step.

//!! mark_non_finite
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Flags: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  if ((X[i] & 0x7f800000u) == 0x7f800000u) {
    atomicMin(&Flags[P.slot], P.iteration);
  }
}
