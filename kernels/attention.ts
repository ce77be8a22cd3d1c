// Fused scaled dot-product attention: softmax(scale·q·kᵀ)·v over the last two dims, flash-style
// (online softmax over key tiles, f32 accumulators, the log-sum-exp saved for the backward), so the
// [Nq, Nk] probabilities never exist in memory. See shaders/attention.wgsl.
//
// Cache key: the head width DH (the shader keeps DH-wide rows in registers, unrolled here into vec4
// statements), the rows per invocation and the workgroup size; sizes and the scale travel in uniforms.
// The backward is first order only: it runs two kernels (dQ over queries, dK/dV over keys) that are
// not themselves recorded, and refuses to run under `createGraph`.
import source from '../shaders/attention.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { runtime } from '../src/engine/gpu/runtime.js';
import { fmtShape, numel, sameShape, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { workgroupForLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);

/**
 * Keys per online-softmax step of the forward: the running maximum and the rescaling of the
 * accumulators happen once per tile rather than once per key (the shader's TILE).
 */
const KEY_TILE = 16;
/** Widest head the register-resident rows are generated for (64 vec4 registers per row). */
export const ATTENTION_MAX_HEAD_DIM = 256;

type Kernel = 'forward' | 'backwardQuery' | 'backwardKey';

const PARAMS = uniforms('Params', { groups: 'u32', nq: 'u32', nk: 'u32', scale: 'f32' });

/**
 * Rows per invocation. On a software adapter every key row an invocation loads is a gather across
 * its SIMD lanes, so sharing each load among several query rows pays (measured on llvmpipe, see
 * docs/BENCHMARKS.md); on a GPU one row per invocation keeps the registers (2 × DH floats per row)
 * within budget.
 */
const CPU_SLOTS: Record<Kernel, number> = { forward: 8, backwardQuery: 8, backwardKey: 4 };

/** SRASEG_ATTENTION_SLOTS=n overrides the choice (tests run the GPU layout, n = 1, on llvmpipe). */
function slotsFor(kernel: Kernel): number {
  const forced = Number(process.env.SRASEG_ATTENTION_SLOTS);
  if (Number.isInteger(forced) && forced >= 1) return forced;
  return runtime().ctx.isCpu ? CPU_SLOTS[kernel] : 1;
}

const range = (n: number) => [...Array(n).keys()];

/**
 * The shader's generated blocks (see shaders/attention.wgsl): DH-long statements unrolled into vec4
 * chunks and repeated for each of `slots` rows. Registers: q/d/k/v{slot}_{chunk} for a slot's own
 * rows (query pre-scaled, dO, key pre-scaled, value), a/b{slot}_{chunk} accumulators, and
 * k_/v_/q_/d_{chunk} for the streamed row. Rows are read as vec4s when DH is a multiple of 4;
 * otherwise element by element, the last chunk padded with zeros.
 */
function generated(dh: number, slots: number): Record<string, string> {
  const chunks = range(Math.ceil(dh / 4));
  const S = range(slots);
  const vec4Rows = dh % 4 === 0;
  const row = (buf: string, base: string, c: number) =>
    vec4Rows
      ? `${buf}[${base} / 4u + ${c}u]`
      : `vec4<f32>(${range(4).map((k) => (4 * c + k < dh ? `${buf}[${base} + ${4 * c + k}u]` : '0.0')).join(', ')})`;
  const dot = (a: string, b: string) => chunks.map((c) => `dot(${a}_${c}, ${b}_${c})`).join(' + ');
  const perChunk = (indent: string, f: (c: number) => string) => chunks.map((c) => indent + f(c));
  const perSlot = (f: (s: number) => string[]) => S.flatMap(f).join('\n');
  const store = (indent: string, buf: string, base: string, value: (c: number) => string) =>
    vec4Rows
      ? perChunk(indent, (c) => `${buf}[${base} / 4u + ${c}u] = ${value(c)};`)
      : chunks.flatMap((c) => [
          `${indent}let ${buf}${c} = ${value(c)};`,
          ...range(4).filter((k) => 4 * c + k < dh).map((k) => `${indent}${buf}[${base} + ${4 * c + k}u] = ${buf}${c}[${k}];`),
        ]);
  const zero = (reg: string) => (s: number) => perChunk('  ', (c) => `var ${reg}${s}_${c} = vec4<f32>(0.0);`);
  const rowsOf = (n: string, prefix: string) => (s: number) => [
    `  let ${prefix}row${s} = g.head * P.${n} + min(g.first + ${s}u, P.${n} - 1u);`,
    `  let ${prefix}b${s} = ${prefix}row${s} * ${dh}u;`,
  ];
  const stream = (reg: string, buf: string, base: string, indent = '      ') => perChunk(indent, (c) => `let ${reg}_${c} = ${row(buf, base, c)};`).join('\n');
  return {
    QUERY_ROWS: perSlot(rowsOf('nq', 'q')),
    KEY_ROWS: perSlot(rowsOf('nk', 'k')),
    LOAD_Q_SCALED: perSlot((s) => perChunk('  ', (c) => `let q${s}_${c} = ${row('Q', `qb${s}`, c)} * P.scale;`)),
    LOAD_K: stream('k', 'K', 'kb'),
    LOAD_V: stream('v', 'V', 'vb'),
    // forward
    INIT_SOFTMAX: perSlot((s) => [...zero('a')(s), `  var m${s} = -3.0e38;`, `  var l${s} = 0.0;`, `  var s${s}: array<f32, TILE>;`]),
    TILE_START: perSlot((s) => [`    var mt${s} = m${s};`]),
    SCORES: perSlot((s) => [`      let x${s} = ${dot(`q${s}`, 'k')};`, `      s${s}[t] = x${s};`, `      mt${s} = max(mt${s}, x${s});`]),
    // exp(m − mt) = 0 on the first tile: m starts far below any score.
    RESCALE: perSlot((s) => [`    let alpha${s} = exp(m${s} - mt${s});`, `    l${s} *= alpha${s};`, ...perChunk('    ', (c) => `a${s}_${c} *= alpha${s};`)]),
    ACCUMULATE_PV: perSlot((s) => [`      let p${s} = exp(s${s}[t] - mt${s});`, `      l${s} += p${s};`, ...perChunk('      ', (c) => `a${s}_${c} += p${s} * v_${c};`)]),
    TILE_END: perSlot((s) => [`    m${s} = mt${s};`]),
    STORE_O_LSE: perSlot((s) => [
      `  if (g.first + ${s}u < P.nq) {`,
      `    let inv${s} = 1.0 / l${s};`,
      ...store('    ', 'O', `qb${s}`, (c) => `a${s}_${c} * inv${s}`),
      `    LSE[qrow${s}] = m${s} + log(l${s});`,
      '  }',
    ]),
    // backwardQuery
    LOAD_DO_DELTA_LSE: perSlot((s) => [
      ...perChunk('  ', (c) => `let d${s}_${c} = ${row('DO', `qb${s}`, c)};`),
      `  let delta${s} = ${chunks.map((c) => `dot(d${s}_${c}, ${row('O', `qb${s}`, c)})`).join(' + ')};`,
      `  let lse${s} = LSE[qrow${s}];`,
      ...zero('a')(s),
    ]),
    ACCUMULATE_DQ: perSlot((s) => [
      `    let p${s} = exp(${dot(`q${s}`, 'k')} - lse${s});`,
      `    let ds${s} = p${s} * (${dot(`d${s}`, 'v')} - delta${s});`,
      ...perChunk('    ', (c) => `a${s}_${c} += ds${s} * k_${c};`),
    ]),
    STORE_DQ_DELTA: perSlot((s) => [
      `  if (g.first + ${s}u < P.nq) {`,
      ...store('    ', 'DQ', `qb${s}`, (c) => `a${s}_${c} * P.scale`),
      `    DELTA[qrow${s}] = delta${s};`,
      '  }',
    ]),
    // backwardKey
    LOAD_K_SCALED_V: perSlot((s) => [
      ...perChunk('  ', (c) => `let k${s}_${c} = ${row('K', `kb${s}`, c)} * P.scale;`),
      ...perChunk('  ', (c) => `let v${s}_${c} = ${row('V', `kb${s}`, c)};`),
      ...zero('a')(s),
      ...zero('b')(s),
    ]),
    LOAD_Q_DO: `${stream('q', 'Q', 'qb', '    ')}\n${stream('d', 'DO', 'qb', '    ')}`,
    ACCUMULATE_DK_DV: perSlot((s) => [
      `    let p${s} = exp(${dot(`k${s}`, 'q')} - lse);`,
      ...perChunk('    ', (c) => `b${s}_${c} += p${s} * d_${c};`),
      `    let ds${s} = p${s} * (${dot(`v${s}`, 'd')} - delta);`,
      ...perChunk('    ', (c) => `a${s}_${c} += ds${s} * q_${c};`),
    ]),
    STORE_DK_DV: perSlot((s) => [
      `  if (g.first + ${s}u < P.nk) {`,
      ...store('    ', 'DK', `kb${s}`, (c) => `a${s}_${c} * P.scale`),
      ...store('    ', 'DV', `kb${s}`, (c) => `b${s}_${c}`),
      '  }',
    ]),
  };
}

/**
 * One kernel over `batch` heads of `rows` rows each (queries, or keys for backwardKey), every
 * invocation looping `trips` times.
 */
function launch(name: Kernel, dims: Dims, rows: number, trips: number, tensors: Tensor[], scale: number): void {
  const op = `attention.${name}`;
  const { dh, nq, nk } = dims;
  const shapes = [[...dims.lead, nq, dh], [...dims.lead, nk, dh]];
  const wg = workgroupForLoops(op, trips, shapes);
  const slots = slotsFor(name);
  const k = kernel(`attention:${name}:dh${dh}:wg${wg}:slots${slots}`, PARAMS, wg, () => ({
    body: SRC[name],
    consts: { DH: ['u32', dh], SLOTS: ['u32', slots], TILE: ['u32', KEY_TILE] },
    types: { RowT: dh % 4 === 0 ? 'vec4<f32>' : 'f32' },
    slots: Object.fromEntries(Object.entries(generated(dh, slots)).filter(([slot]) => SRC[name].includes(`{{${slot}}}`))),
  }));
  const groups = numel(dims.lead) * Math.ceil(rows / slots);
  run(k, tensors, { groups, nq, nk, scale }, grid1d(groups, wg), op);
}

interface Dims {
  lead: number[];
  nq: number;
  nk: number;
  dh: number;
}

function checkOperands(q: Tensor, k: Tensor, v: Tensor): Dims {
  const op = 'attention';
  const shapes = [q.shape, k.shape, v.shape];
  for (const t of [q, k, v]) {
    if (t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, shapes);
    if (t.rank < 2) throw new ShapeError(op, 'operands need rank ≥ 2 ([..., N, Dh], typically [B, H, N, Dh])', shapes);
  }
  if (!sameShape(k.shape, v.shape)) throw new ShapeError(op, 'k and v must have the same shape', shapes);
  const lead = q.shape.slice(0, -2);
  if (!sameShape(lead, k.shape.slice(0, -2))) throw new ShapeError(op, 'q and k must share their leading (batch, head) dims', shapes);
  const [nq, dh] = q.shape.slice(-2);
  const nk = k.shape[k.rank - 2];
  if (k.shape[k.rank - 1] !== dh) throw new ShapeError(op, `head widths differ: q ${dh}, k ${k.shape[k.rank - 1]}`, shapes);
  if (dh < 1 || dh > ATTENTION_MAX_HEAD_DIM) throw new ShapeError(op, `head width ${dh} outside 1..${ATTENTION_MAX_HEAD_DIM}`, shapes);
  if (nk < 1 && nq > 0) throw new ShapeError(op, 'needs at least one key', shapes);
  return { lead, nq, nk, dh };
}

/**
 * softmax(scale · q·kᵀ) · v for q [..., Nq, Dh], k and v [..., Nk, Dh] with the same leading dims
 * (typically [B, H, N, Dh]); scale defaults to 1/√Dh. Returns [..., Nq, Dh]. Differentiable in q, k
 * and v (first order).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, scale?: number): Tensor {
  const dims = checkOperands(q, k, v);
  const { lead, nq, nk, dh } = dims;
  const s = scale ?? 1 / Math.sqrt(dh);
  const o = out(q.shape, 'f32', 'attention');
  const lse = out([...lead, nq], 'f32', 'attention.lse');
  if (o.size > 0) launch('forward', dims, nq, 2 * nk + Math.ceil(nk / KEY_TILE), [q, k, v, o, lse], s);
  record(o, 'attention', [q, k, v], [q, k, v, o, lse], (g, [sq, sk, sv, so, slse]) => {
    if (isGradEnabled()) {
      throw new Error(`attention: second derivatives are not supported (backward with createGraph through attention ${fmtShape(q.shape)})`);
    }
    return attentionBackward(g, sq, sk, sv, so, slse, s);
  });
  lse.dispose();
  return o;
}

/**
 * Gradients of attention's output `o` (with its saved log-sum-exp `lse`) for upstream gradient `g`:
 * [dq, dk, dv]. Not recorded (first order).
 */
function attentionBackward(g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, scale: number): Tensor[] {
  const dims = checkOperands(q, k, v);
  const { lead, nq, nk } = dims;
  const dq = out(q.shape, 'f32', 'attention.dq');
  const dk = out(k.shape, 'f32', 'attention.dk');
  const dv = out(v.shape, 'f32', 'attention.dv');
  const delta = out([...lead, nq], 'f32', 'attention.delta');
  if (dq.size > 0) launch('backwardQuery', dims, nq, nk, [q, k, v, o, g, lse, dq, delta], scale);
  // With no queries the query loop is empty and dK, dV come out zero, as they should.
  if (dk.size > 0) launch('backwardKey', dims, nk, nq, [q, k, v, g, lse, delta, dk, dv], scale);
  delta.dispose();
  return [dq, dk, dv];
}
