// Counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC'11). Block b of a call maps the 64-bit counter (offset + b) and the 64-bit key (the
// seed) to four independent u32 words, so any invocation computes its own numbers and results do
// not depend on the dispatch geometry. Each invocation produces one block: four output elements.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of a 32×32-bit product, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = ((al * bl) >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  return ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = mulhi(PHILOX_M0, c.x);
    let lo0 = PHILOX_M0 * c.x;
    let hi1 = mulhi(PHILOX_M1, c.z);
    let lo1 = PHILOX_M1 * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += vec2<u32>(PHILOX_W0, PHILOX_W1);
  }
  return c;
}

// The four words of block `b` of this call.
fn block(b: u32) -> vec4<u32> {
  let lo = P.offLo + b;
  let hi = P.offHi + select(0u, 1u, lo < b); // carry
  return philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(P.keyLo, P.keyHi));
}

// Uniform in [0, 1): the top 24 bits, exactly representable in f32.
fn uniform01(w: u32) -> f32 { return f32(w >> 8u) * 5.9604644775390625e-8; }

//!! bits
@group(0) @binding(1) var<storage, read_write> Out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = globalIndex(wid, nwg, lid);
  if (b * 4u >= P.n) { return; }
  let w = block(b);
  for (var j = 0u; j < 4u; j++) {
    if (b * 4u + j < P.n) { Out[b * 4u + j] = w[j]; }
  }
}

//!! uniform
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = globalIndex(wid, nwg, lid);
  if (b * 4u >= P.n) { return; }
  let w = block(b);
  for (var j = 0u; j < 4u; j++) {
    if (b * 4u + j < P.n) { Out[b * 4u + j] = uniform01(w[j]); }
  }
}

//!! normal
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;

const TWO_PI: f32 = 6.283185307179586;

// Box–Muller: two uniforms → two independent standard normals. u1 is taken from (0, 1] so log is finite.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = globalIndex(wid, nwg, lid);
  if (b * 4u >= P.n) { return; }
  let w = block(b);
  var z: vec4<f32>;
  for (var j = 0u; j < 4u; j += 2u) {
    let u1 = 1.0 - uniform01(w[j]);
    let theta = TWO_PI * uniform01(w[j + 1u]);
    let r = sqrt(-2.0 * log(u1));
    z[j] = r * cos(theta);
    z[j + 1u] = r * sin(theta);
  }
  for (var j = 0u; j < 4u; j++) {
    if (b * 4u + j < P.n) { Out[b * 4u + j] = z[j]; }
  }
}

//!! bernoulli
// Out = P.scale with probability P.p, else 0 (a keep-mask pre-scaled for inverted dropout).
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = globalIndex(wid, nwg, lid);
  if (b * 4u >= P.n) { return; }
  let w = block(b);
  for (var j = 0u; j < 4u; j++) {
    if (b * 4u + j < P.n) { Out[b * 4u + j] = select(0.0, P.scale, uniform01(w[j]) < P.p); }
  }
}

//!! dropout
// Y = X · mask, with the pre-scaled keep-mask written too (the backward multiplies by it).
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = globalIndex(wid, nwg, lid);
  if (b * 4u >= P.n) { return; }
  let w = block(b);
  for (var j = 0u; j < 4u; j++) {
    let i = b * 4u + j;
    if (i < P.n) {
      let m = select(0.0, P.scale, uniform01(w[j]) < P.p);
      Mask[i] = m;
      Y[i] = X[i] * m;
    }
  }
}
