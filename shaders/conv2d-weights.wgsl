// The convolution kernels' weights, packed so that the TC destination channels of one tap are
// contiguous vec4s (kernels/conv2d-weights.ts).

//!! packWeights
// Packed[block][s][tap][j] = weight of (destination channel block·TC + j, source channel s, tap), 0
// past the group's last destination channel. The strides say where those axes lie in the original;
// `flip` reverses the taps (a stride-1 transposed convolution run as a forward one).
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
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
