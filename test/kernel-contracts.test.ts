// The TypeScript ↔ WGSL contract machinery (kernels/uniforms.ts, kernels/wgsl.ts, the prelude, the
// loop rule). Mistakes these tests catch, each made once by hand:
// - vec8 aligned to 4 instead of 16 (packer offsets differ from the hand-computed WGSL layout, and
//   the GPU round trip reads other bytes than were written);
// - vec4f not aligned to 16, or the struct not padded to 16 bytes;
// - a field written as u32 where it is declared f32 (the round trip reads a different bit pattern);
// - the prelude's globalIndex ignoring the y fold of grid1d (items past 65,535 workgroups missing);
// - an f32 constant printed without a decimal point (`2` is an integer literal: the shader would not
//   compile), a slot left unfilled or a value for a slot that does not exist;
// - the loop cap applied per workgroup instead of per invocation (the 32×32 filter is refused), or
//   not applied on the adapter that has it, or still applied with the switch off.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

const K = E.kernelApi;

// A struct mixing every field type, with offsets worked out by hand from WGSL's rules for the
// uniform address space: scalars align to 4, vec4<f32> and array<vec4<u32>, 2> (Vec8) to 16.
const MIXED = K.uniforms('Params', { n: 'u32', alpha: 'f32', shape: 'vec8', k: 'i32', color: 'vec4f', last: 'u32' });
const HAND_OFFSETS = { n: 0, alpha: 4, shape: 16, k: 48, color: 64, last: 80 };
const VALUES = { n: 7, alpha: 0.25, shape: [3, 1, 4, 1, 5], k: -9, color: [1.5, -2, 0.125, 8] as const, last: 4000000000 };

test('uniforms: field offsets follow WGSL layout rules (hand-computed), size rounded to 16', () => {
  assert.equal(Object.fromEntries(MIXED.layout.map((f) => [f.name, f.offset])), HAND_OFFSETS);
  assert.is(MIXED.size, 96); // last member ends at 84
  const bytes = new DataView(MIXED.pack(VALUES));
  assert.is(bytes.byteLength, 96);
  assert.is(bytes.getUint32(0, true), 7);
  assert.is(bytes.getFloat32(4, true), 0.25);
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7].map((d) => bytes.getUint32(16 + 4 * d, true)), [3, 1, 4, 1, 5, 0, 0, 0]);
  assert.is(bytes.getInt32(48, true), -9);
  assert.equal([0, 1, 2, 3].map((c) => bytes.getFloat32(64 + 4 * c, true)), [1.5, -2, 0.125, 8]);
  assert.is(bytes.getUint32(80, true), 4000000000);
  // Padding stays zero.
  for (const at of [8, 12, 52, 56, 60, 84, 88, 92]) assert.is(bytes.getUint32(at, true), 0, `byte ${at}`);
});

test('uniforms: the generated WGSL struct', () => {
  assert.is(
    K.uniforms('Params', { n: 'u32', alpha: 'f32', shape: 'vec8' }).wgsl,
    ['struct Params {', '  n: u32,      // byte 0', '  alpha: f32,  // byte 4', '  shape: Vec8, // byte 16', '}'].join('\n'),
  );
});

test('uniforms: negative u32 values wrap (flip strides), bad values are refused with the field named', () => {
  const p = K.uniforms('Params', { s: 'vec8', n: 'u32' });
  const bytes = new DataView(p.pack({ s: [-3], n: -1 }));
  assert.is(bytes.getUint32(0, true), 2 ** 32 - 3);
  assert.is(bytes.getUint32(32, true), 2 ** 32 - 1);
  assert.throws(() => p.pack({ s: [1.5], n: 0 }), /Params\.s: 1\.5 is not a 32-bit integer/);
  assert.throws(() => p.pack({ s: [1, 2, 3, 4, 5, 6, 7, 8, 9], n: 0 }), /Params\.s: expected up to 8 numbers/);
  assert.throws(() => K.uniforms('Params', { 'bad-name': 'u32' }), /not a WGSL identifier/);
});

test('uniforms: the packer is typed from the declaration (a missing, extra or mistyped field does not compile)', () => {
  const p = K.uniforms('Params', { n: 'u32', alpha: 'f32', shape: 'vec8' });
  const ok = p.pack({ n: 1, alpha: 2, shape: [3] });
  assert.is(ok.byteLength, 48);
  // The runtime checks stand behind the types for callers that get around them.
  // @ts-expect-error — 'alpha' is missing
  assert.throws(() => p.pack({ n: 1, shape: [3] }), /Params\.alpha: expected a number/);
  // @ts-expect-error — 'beta' is not a field
  assert.throws(() => p.pack({ n: 1, alpha: 2, shape: [3], beta: 4 }), /no field 'beta'/);
  // @ts-expect-error — a vec8 takes a list
  assert.throws(() => p.pack({ n: 1, alpha: 2, shape: 3 }), /Params\.shape: expected up to 8 numbers/);
});

/** A kernel that copies every field of MIXED, as the GPU reads it, into a u32 buffer. */
const ECHO = K.kernel('test:echoUniforms', MIXED, 1, () => ({
  body: `
@group(0) @binding(1) var<storage, read_write> Out: array<u32>;
@compute @workgroup_size(WG)
fn main() {
  Out[0] = P.n;
  Out[1] = bitcast<u32>(P.alpha);
  for (var d = 0u; d < 8u; d++) { Out[2u + d] = at8(P.shape, d); }
  Out[10] = bitcast<u32>(P.k);
  let c = bitcast<vec4<u32>>(P.color);
  Out[11] = c.x; Out[12] = c.y; Out[13] = c.z; Out[14] = c.w;
  Out[15] = P.last;
}`,
}));

test('uniforms: the GPU reads every field of the generated struct where the packer wrote it', async () => {
  const outT = E.zeros([16], 'u32');
  K.run(ECHO, [outT], VALUES, [1, 1, 1]);
  const got = Array.from((await outT.data()) as Uint32Array);
  outT.dispose();
  const f32bits = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0];
  assert.equal(got, [7, f32bits(0.25), 3, 1, 4, 1, 5, 0, 0, 0, 2 ** 32 - 9, ...VALUES.color.map(f32bits), 4000000000]);
});

test('shader assembly: generated declarations (uniforms, WG, constants, types) and slot checks', () => {
  const p = K.uniforms('Params', { n: 'u32' });
  const text = K.declarations(p, { wg: 64, consts: { TILE: ['u32', 16], LO: ['f32', 1e-6], TWO: ['f32', 2], ON: ['bool', true], KX: ['i32', -3] }, types: { T: 'f32' } });
  assert.is(
    text,
    [
      p.wgsl,
      '@group(0) @binding(0) var<uniform> P: Params;',
      '',
      'const WG: u32 = 64u;',
      'const TILE: u32 = 16u;',
      'const LO: f32 = 0.000001;',
      'const TWO: f32 = 2.0;',
      'const ON: bool = true;',
      'const KX: i32 = -3i;',
      'alias T = f32;',
    ].join('\n'),
  );
  assert.is(K.wgslLiteral(['f32', 1 - 1e-6]), '0.999999');
  assert.throws(() => K.wgslLiteral(['u32', -1]), /outside u32/);
  assert.throws(() => K.fillSlots('x = {{A}};', {}), /no value for the slot \{\{A\}\}/);
  assert.throws(() => K.fillSlots('x = {{A}};', { A: 1, B: 2 }), /no slot for \{\{B\}\}/);
  assert.is(K.fillSlots('x = {{A}} + {{A}};', { A: 'y' }), 'x = y + y;');
});

const INDEX = K.uniforms('Params', { n: 'u32' });
const WRITE_INDEX = K.kernel('test:writeIndex', INDEX, 1, () => ({
  body: `
@group(0) @binding(1) var<storage, read_write> Out: array<u32>;
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i < P.n) { Out[i] = i + 1u; }
}`,
}));

test('prelude: globalIndex covers every item of a launch folded into y (more than 65,535 workgroups)', async () => {
  const n = 70001;
  const grid = K.grid1d(n, 1);
  assert.ok(grid[1] > 1, `expected a folded grid, got [${grid}]`);
  const outT = E.zeros([n], 'u32');
  K.run(WRITE_INDEX, [outT], { n }, grid);
  const got = (await outT.data()) as Uint32Array;
  outT.dispose();
  const wrong = got.findIndex((v, i) => v !== i + 1);
  assert.is(wrong, -1, `item ${wrong} holds ${got[wrong]}`);
});

test('loop rule: counted per invocation — a filter looping 1,056 times per output, 67,584 per workgroup, runs correctly', async () => {
  // 32×32 box filter (generic kernel, 64 invocations per workgroup) over a 40×40 image: each output
  // visits 32 rows × 32 taps. Were the cap per workgroup, llvmpipe would cut these sums short.
  K.setLoopCap(true);
  try {
    const { t: x, v } = randTensor([1, 1, 40, 40], 3);
    const f = E.full([32, 32], 1 / 1024);
    const y = E.upfirdn2d(x, f);
    const want = new Float64Array(81);
    for (let oy = 0; oy < 9; oy++) {
      for (let ox = 0; ox < 9; ox++) {
        let s = 0;
        for (let ky = 0; ky < 32; ky++) for (let kx = 0; kx < 32; kx++) s += v[(oy + ky) * 40 + ox + kx];
        want[oy * 9 + ox] = s / 1024;
      }
    }
    assertClose(await read(y), want, 1e-5, 1e-5);
    for (const t of [x, f, y]) t.dispose();
  } finally {
    K.setLoopCap(null);
  }
});

test('loop rule: with the cap, a kernel looping past the budget per invocation is refused; without it, it runs', async () => {
  const x = E.full([1, 1, 200, 200], 0.5);
  const big = () => E.avgPool2d(x, 200);
  K.setLoopCap(true);
  try {
    assert.ok(K.loopCapApplies());
    assert.is(K.maxLoopTrips(), K.LOOP_BUDGET);
    assert.throws(big, /avgPool2d: each output element would loop 40000 times.*\[1, 1, 200, 200\]/);
    assert.throws(() => K.checkLoops('op', K.LOOP_BUDGET + 1, [[1]]), /op: each output element would loop 32769 times/);
    K.checkLoops('op', K.LOOP_BUDGET, [[1]]);
    // Long-looping kernels take small workgroups on a software adapter (its threads take whole workgroups).
    assert.is(K.workgroupForLoops('op', 1000, []), 32);
    assert.is(K.workgroupForLoops('op', 4, []), 256);
    // Off (a GPU): nothing is refused. 40,200 iterations per invocation are also under llvmpipe's
    // real cap of ~65,535, so the pool runs correctly here too.
    K.setLoopCap(false);
    assert.not.ok(K.loopCapApplies());
    assert.is(K.maxLoopTrips(), Infinity);
    assert.is(K.workgroupForLoops('op', 1000, []), 256);
    K.checkLoops('op', 10 * K.LOOP_BUDGET, [[1]]);
    const y = big();
    assertClose(await read(y), [0.5], 1e-6, 1e-6);
    y.dispose();
  } finally {
    K.setLoopCap(null);
    x.dispose();
  }
  assert.is(K.loopCapApplies(), E.runtime().ctx.isCpu);
});

test.run();
