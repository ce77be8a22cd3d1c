// Parameter arenas: an optimiser's parameters, their gradients and each optimiser state slot packed in
// a few large buffers with one layout, so that one dispatch updates a run of parameters (kernels/
// optim.ts takes an element range) instead of one dispatch per parameter, and the divergence watch
// checks all gradients or all weights in one dispatch.
//
// Layout: each tensor gets a slot at an element offset that is a multiple of ALIGN (64 f32 = 256
// bytes, WebGPU's largest minStorageBufferOffsetAlignment, so a parameter can be bound on its own at
// its offset), padded with zeros to the next slot; slots fill a chunk until it would pass the largest
// storage binding, then a new chunk starts (one chunk for the UNet's 1.8 M parameters). Every arena of
// an optimiser has the same layout, so element i of a chunk is the same parameter's element in all.
//
// The parameters themselves become slices of the parameter arena (Tensor.replaceStorage): modules,
// autograd and checkpoints keep the same tensor handles, which now bind at an offset.
import { runtime } from '../gpu/runtime.js';
import { keep, tidy } from '../tensor/scope.js';
import { BYTES_PER_ELEMENT, type Tensor, zeros } from '../tensor/tensor.js';

/** Elements per alignment step: 256 bytes. */
export const ALIGN = 64;

export interface Slot {
  chunk: number;
  /** First element in the chunk. */
  offset: number;
  /** Elements of the tensor. */
  size: number;
  /** Elements up to the next slot (size rounded up to ALIGN). */
  padded: number;
}

export interface ArenaLayout {
  slots: Slot[];
  /** Elements of each chunk. */
  chunkSizes: number[];
}

/** Slots for tensors of `sizes` elements, in order, in chunks of at most `maxChunk` elements; null if one does not fit a chunk. */
export function planArena(sizes: readonly number[], maxChunk: number, align = ALIGN): ArenaLayout | null {
  const slots: Slot[] = [];
  const chunkSizes: number[] = [];
  let chunk = -1;
  let used = maxChunk + 1;
  for (const size of sizes) {
    const padded = Math.max(align, Math.ceil(size / align) * align);
    if (padded > maxChunk) return null;
    if (used + padded > maxChunk) {
      chunk++;
      chunkSizes.push(0);
      used = 0;
    }
    slots.push({ chunk, offset: used, size, padded });
    used += padded;
    chunkSizes[chunk] = used;
  }
  return { slots, chunkSizes };
}

/** The largest chunk in elements on this adapter: one storage binding, one pooled buffer. */
export function maxChunkElements(): number {
  const lim = runtime().ctx.limits;
  const bytes = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
  return Math.floor(bytes / BYTES_PER_ELEMENT / ALIGN) * ALIGN;
}

/** One arena: a zero-filled f32 chunk tensor per chunk of the layout (owned here). */
export class Arena {
  readonly chunks: Tensor[];

  constructor(
    readonly layout: ArenaLayout,
    readonly label: string,
  ) {
    this.chunks = layout.chunkSizes.map((n) => keep(tidy(() => zeros([n]))));
  }

  /** Slot `i` as a storage slice of its chunk (a parameter's new home). */
  sliceStorage(i: number) {
    const s = this.layout.slots[i];
    return this.chunks[s.chunk].storage(this.label).slice(s.offset * BYTES_PER_ELEMENT, s.padded * BYTES_PER_ELEMENT);
  }

  /** Copy `t`'s values into slot `i` (recorded in order with the dispatches around it). */
  copyIn(i: number, t: Tensor): void {
    const s = this.layout.slots[i];
    const chunk = this.chunks[s.chunk];
    runtime().queue.copy(t.buffer(this.label), t.byteOffset(), chunk.buffer(this.label), chunk.byteOffset() + s.offset * BYTES_PER_ELEMENT, s.size * BYTES_PER_ELEMENT);
  }

  /** Upload host values into slot `i`. */
  write(i: number, values: Float32Array): void {
    const s = this.layout.slots[i];
    const chunk = this.chunks[s.chunk];
    runtime().queue.write(chunk.buffer(this.label), chunk.byteOffset() + s.offset * BYTES_PER_ELEMENT, values.subarray(0, s.size));
  }

  /** Zero slot `i`. */
  clear(i: number): void {
    const s = this.layout.slots[i];
    const chunk = this.chunks[s.chunk];
    runtime().queue.clear(chunk.buffer(this.label), chunk.byteOffset() + s.offset * BYTES_PER_ELEMENT, s.padded * BYTES_PER_ELEMENT);
  }

  /** Every slot's values, read back with one copy per chunk. */
  async readAll(): Promise<Float32Array[]> {
    const hosts: Float32Array[] = [];
    for (const c of this.chunks) hosts.push((await c.data()) as Float32Array);
    return this.layout.slots.map((s) => hosts[s.chunk].slice(s.offset, s.offset + s.size));
  }

  dispose(): void {
    for (const c of this.chunks) c.dispose();
  }
}

/** A run of consecutive slots updated by one dispatch: elements [start, start + count) of `chunk`. */
export interface Run {
  chunk: number;
  start: number;
  count: number;
  /** The slots it covers. */
  first: number;
  last: number;
}

/**
 * Group the slots whose `key` is not null into runs of consecutive slots of one chunk with equal keys
 * (e.g. "has a gradient, step 7"). With `mergePadding` a run spans the zero padding between its slots
 * (the update must leave zeros zero); without, every run is one slot.
 */
export function runsOf(layout: ArenaLayout, key: (i: number) => string | number | null, mergePadding: boolean): Run[] {
  const runs: Run[] = [];
  let current: (Run & { key: string | number }) | null = null;
  layout.slots.forEach((s, i) => {
    const k = key(i);
    if (k === null || s.size === 0) {
      current = null;
      return;
    }
    if (current && mergePadding && current.chunk === s.chunk && current.key === k && current.last === i - 1) {
      current.count = s.offset + s.size - current.start;
      current.last = i;
      return;
    }
    current = { chunk: s.chunk, start: s.offset, count: s.size, first: i, last: i, key: k };
    runs.push(current);
  });
  return runs.map(({ chunk, start, count, first, last }) => ({ chunk, start, count, first, last }));
}
