// Fused scaled dot-product attention: softmax(scale·q·kᵀ)·v over the last two dims, flash-style
// (online softmax over key tiles, f32 accumulators, the log-sum-exp saved for the backward), so the
// [Nq, Nk] probabilities never exist in memory. See shaders/attention.wgsl.
//
// Two sets of kernels (kernels/variant.ts): for software adapters, shaders/attention.wgsl (several rows
// per invocation, every streamed row loaded by each invocation, no workgroup memory); for GPUs,
// shaders/attention-tiled.wgsl (one row per invocation, 64 per workgroup, the streamed rows staged
// in workgroup memory in tiles of BKV and shared by the workgroup).
// Cache key: the head width DH (the shaders keep DH-wide rows in registers), the rows per invocation
// and the workgroup size, or for the tiled kernels the tile; sizes and the scale travel in uniforms.
// The backward is first order only: it runs two kernels (dQ over queries, dK/dV over keys) that are
// not themselves recorded, and refuses to run under `createGraph`.
import source from '../shaders/attention.wgsl';
import tiledSource from '../shaders/attention-tiled.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { fmtShape, numel, sameShape, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { checkLoops, workgroupForLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';
import { gpuKernels } from './variant.js';

const SRC = sections(source);
const TILED = sections(tiledSource);

/**
 * Keys per online-softmax step of the forward: the running maximum and the rescaling of the
 * accumulators happen once per tile rather than once per key (the shader's TILE).
 */
const KEY_TILE = 16;
/** Widest head: an invocation holds its rows in registers, DH/4 vec4s each (64 at 256). */
export const ATTENTION_MAX_HEAD_DIM = 256;

type Kernel = 'forward' | 'backwardQuery' | 'backwardKey';

const PARAMS = uniforms('Params', { groups: 'u32', nq: 'u32', nk: 'u32', scale: 'f32' });

/**
 * Rows per invocation of the software kernels. On a software adapter every key row an invocation
 * loads is a gather across its SIMD lanes, so sharing each load among several query rows pays
 * (measured on llvmpipe, see docs/BENCHMARKS.md).
 */
const CPU_SLOTS: Record<Kernel, number> = { forward: 8, backwardQuery: 8, backwardKey: 4 };

/** SRASEG_ATTENTION_SLOTS=n overrides the choice (tests run other counts). */
function slotsFor(kernel: Kernel): number {
  const forced = Number(process.env.SRASEG_ATTENTION_SLOTS);
  if (Number.isInteger(forced) && forced >= 1) return forced;
  return CPU_SLOTS[kernel];
}

/** Rows per workgroup of the GPU kernels (one per invocation). */
const TILED_WG = 64;
/**
 * Workgroup memory the GPU kernels' tiles may take: WebGPU's default limit, which every adapter
 * grants; the rows of a tile take 2 · BKV · DH · 4 bytes (backwardKey adds 2 · BKV floats).
 */
const TILED_SHARED_BYTES = 16384;

/** Rows per staged tile: the largest power of two ≤ 64 whose tile fits TILED_SHARED_BYTES. */
export function attentionTile(kernel: Kernel, dh: number): number {
  const rowBytes = 2 * Math.ceil(dh / 4) * 16 + (kernel === 'backwardKey' ? 8 : 0);
  let bkv = 64;
  while (bkv > 1 && bkv * rowBytes > TILED_SHARED_BYTES) bkv /= 2;
  return bkv;
}

/**
 * The row buffers each kernel loads and stores (the shader's ROWS slot declares their accessors);
 * the GPU kernels load the streamed ones by chunk into workgroup memory (`chunks`).
 */
interface RowBuffers {
  loads: string[];
  stores: string[];
  chunks: string[];
}
const ROW_BUFFERS: Record<Kernel, RowBuffers> = {
  forward: { loads: ['Q', 'K', 'V'], stores: ['O'], chunks: [] },
  backwardQuery: { loads: ['Q', 'K', 'V', 'O', 'DO'], stores: ['DQ'], chunks: [] },
  backwardKey: { loads: ['Q', 'K', 'V', 'DO'], stores: ['DK', 'DV'], chunks: [] },
};
const TILED_ROW_BUFFERS: Record<Kernel, RowBuffers> = {
  forward: { loads: ['Q'], stores: ['O'], chunks: ['K', 'V'] },
  backwardQuery: { loads: ['Q', 'O', 'DO'], stores: ['DQ'], chunks: ['K', 'V'] },
  backwardKey: { loads: ['K', 'V'], stores: ['DK', 'DV'], chunks: ['Q', 'DO'] },
};

/**
 * The shader's ROWS slot: `load<B>(row) -> Row` and `store<B>(row, r)` for each row buffer. Rows
 * are bound as vec4s when DH is a multiple of 4 (one load per chunk); otherwise element by element,
 * the last chunk's spare lanes left zero. (Loops over the chunks measured faster on llvmpipe than
 * the same loads written out one by one.)
 */
function rowAccess(buffers: RowBuffers, vec4Rows: boolean): string {
  const { loads, stores, chunks } = buffers;
  const load = (b: string) =>
    vec4Rows
      ? `fn load${b}(row: u32) -> Row {\n  var r: Row;\n  for (var c = 0u; c < DH4; c++) { r[c] = ${b}[row * DH4 + c]; }\n  return r;\n}`
      : `fn load${b}(row: u32) -> Row {\n  var r: Row;\n  for (var e = 0u; e < DH; e++) { r[e / 4u][e % 4u] = ${b}[row * DH + e]; }\n  return r;\n}`;
  const store = (b: string) =>
    vec4Rows
      ? `fn store${b}(row: u32, r: Row) {\n  for (var c = 0u; c < DH4; c++) { ${b}[row * DH4 + c] = r[c]; }\n}`
      : `fn store${b}(row: u32, r: Row) {\n  for (var e = 0u; e < DH; e++) { ${b}[row * DH + e] = r[e / 4u][e % 4u]; }\n}`;
  const chunk = (b: string) =>
    vec4Rows
      ? `fn chunk${b}(row: u32, c: u32) -> vec4<f32> {\n  return ${b}[row * DH4 + c];\n}`
      : `fn chunk${b}(row: u32, c: u32) -> vec4<f32> {\n  var r = vec4<f32>(0.0);\n  for (var i = 0u; i < 4u; i++) {\n    if (4u * c + i < DH) { r[i] = ${b}[row * DH + 4u * c + i]; }\n  }\n  return r;\n}`;
  return [...loads.map(load), ...stores.map(store), ...chunks.map(chunk), ...stagedTiles(chunks)].join('\n\n');
}

/**
 * For the GPU kernels' streamed buffers: each one's tile in workgroup memory (`<B>s`, BKV rows), its
 * row dot product `dot<B>(x, t)` with tile row t, and `stageTiles`, which loads rows
 * first + start … first + start + BKV − 1 (clamped to the `rows` of the head) of all of them, the
 * workgroup's invocations sharing the chunks. Written once here for every kernel that streams tiles.
 */
function stagedTiles(chunks: string[]): string[] {
  if (!chunks.length) return [];
  const tile = (b: string) => `var<workgroup> ${b}s: array<vec4<f32>, BKV * DH4>;`;
  const dotWith = (b: string) =>
    `fn dot${b}(x: Row, t: u32) -> f32 {\n  var s = dot(x[0], ${b}s[t * DH4]);\n  for (var c = 1u; c < DH4; c++) { s += dot(x[c], ${b}s[t * DH4 + c]); }\n  return s;\n}`;
  const stores = chunks.map((b) => `    ${b}s[e] = chunk${b}(r, e % DH4);`).join('\n');
  const stage = `fn stageTiles(first: u32, start: u32, rows: u32, lane: u32) {\n  for (var e = lane; e < BKV * DH4; e += WG) {\n    let r = first + min(start + e / DH4, rows - 1u);\n${stores}\n  }\n}`;
  return [...chunks.map(tile), ...chunks.map(dotWith), stage];
}

/**
 * One kernel over `batch` heads of `rows` rows each (queries, or keys for backwardKey), every
 * invocation looping `trips` times.
 */
function launch(name: Kernel, dims: Dims, rows: number, trips: number, tensors: Tensor[], scale: number): void {
  const op = `attention.${name}`;
  const { dh, nq, nk } = dims;
  const shapes = [[...dims.lead, nq, dh], [...dims.lead, nk, dh]];
  if (gpuKernels()) {
    launchTiled(name, dims, rows, trips, tensors, scale);
    return;
  }
  const wg = workgroupForLoops(op, trips, shapes);
  const slots = slotsFor(name);
  const k = kernel(`attention:${name}:dh${dh}:wg${wg}:slots${slots}`, PARAMS, wg, () => ({
    body: SRC[name],
    consts: { DH: ['u32', dh], SLOTS: ['u32', slots], TILE: ['u32', KEY_TILE] },
    types: { RowT: dh % 4 === 0 ? 'vec4<f32>' : 'f32' },
    slots: { ROWS: rowAccess(ROW_BUFFERS[name], dh % 4 === 0) },
  }));
  const groups = numel(dims.lead) * Math.ceil(rows / slots);
  run(k, tensors, { groups, nq, nk, scale }, grid1d(groups, wg), op);
}

/**
 * The GPU kernel `name`: one workgroup per TILED_WG rows of a head, streaming the other side's
 * `trips` rows in tiles. Where the adapter caps loops (GPU kernels forced onto a software one), the
 * loops are checked as the software kernels' are: per streamed row, plus the staging per tile.
 */
function launchTiled(name: Kernel, dims: Dims, rows: number, trips: number, tensors: Tensor[], scale: number): void {
  const op = `attention.${name}`;
  const { dh, nq, nk } = dims;
  const bkv = attentionTile(name, dh);
  const staging = Math.ceil((bkv * Math.ceil(dh / 4)) / TILED_WG) + 2;
  const streamed = name === 'backwardKey' ? nq : nk;
  checkLoops(op, trips + Math.ceil(streamed / bkv) * staging, [[...dims.lead, nq, dh], [...dims.lead, nk, dh]], 'each row');
  const k = kernel(`attention:${name}Tiled:dh${dh}:bkv${bkv}`, PARAMS, TILED_WG, () => ({
    body: TILED[`${name}Tiled`],
    consts: { DH: ['u32', dh], BKV: ['u32', bkv] },
    types: { RowT: dh % 4 === 0 ? 'vec4<f32>' : 'f32' },
    slots: { ROWS: rowAccess(TILED_ROW_BUFFERS[name], dh % 4 === 0) },
  }));
  const groups = numel(dims.lead) * Math.ceil(rows / TILED_WG);
  run(k, tensors, { groups, nq, nk, scale }, grid1d(groups, 1), op);
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
