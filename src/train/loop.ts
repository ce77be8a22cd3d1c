// The one training loop shape every trainer runs (the UNet stages in stage.ts, StyleGAN2 in
// gan/train.ts): for each iteration, the method's step in its own ownership scope, submitted at once;
// every `logEvery` iterations one read-back of the logged terms and of the divergence flags, a
// log.jsonl row with the memory figures, the progress line; every `every` iterations (and at the end)
// the periodic work — validation or snapshot, then the checkpoint and the exports — in a scope of its
// own, and only after the flags say every watched quantity is still finite. Resume is the caller's:
// it loads the checkpoint and starts the loop at its iteration.
import { appendFileSync } from 'node:fs';
import { flush, type Tensor, tidy } from '../engine/index.js';
import { formatMemory, memoryRow } from '../report/memory.js';
import type { ProgressBar } from '../report/progress.js';
import { crashPoint } from './crash-points.js';
import { divergenceError, type DivergenceWatch } from './divergence.js';

export interface StepOutput {
  /** Scalar tensors to watch for NaN/Inf every step and to log on log iterations (ours to free). */
  terms: Record<string, Tensor>;
  /** Host numbers for the log row (e.g. kimg, ADA's p). */
  values?: Record<string, number>;
}

export interface LoopOptions {
  logPath: string;
  /** The counter's name in log rows and messages: 'iteration' (UNet stages) or 'step' (GAN minibatches). */
  counter: 'iteration' | 'step';
  /** Iterations already done (a resumed checkpoint's), and the run's total. */
  start: number;
  total: number;
  logEvery: number;
  /** Periodic work every this many iterations, and after the last. */
  every: number;
  watch: DivergenceWatch;
  bar: ProgressBar;
}

export interface LoopBody {
  /** One iteration (0-based index): forward, backward, optimiser steps… Runs in its own scope. */
  step(index: number): Promise<StepOutput>;
  /** Extra host figures for a logged row (wall-clock rates) given the seconds since the loop started. */
  rowExtras?(row: Record<string, number>, seconds: number): Record<string, number>;
  /** The progress-line fields for a logged row. */
  progress(row: Record<string, number>, memory: string): Record<string, string | number>;
  /** Validate or snapshot, then checkpoint and export, at iteration `at` (1-based count done). */
  periodic(at: number): Promise<void>;
}

export async function runLoop(o: LoopOptions, body: LoopBody): Promise<void> {
  const t0 = performance.now();
  let lastCheckpoint = o.start;
  let checked = -1;
  const stop = async (at: number) => {
    if (checked === at) return;
    checked = at;
    const d = await o.watch.read();
    if (!d) return;
    o.bar.done();
    throw divergenceError(d, o.counter, at, lastCheckpoint);
  };
  for (let it = o.start; it < o.total; ) {
    const at = it + 1;
    const logging = at % o.logEvery === 0 || at === o.total;
    o.watch.iteration = at;
    // One scope per iteration: whatever the step allocates — across its awaits — is freed when it
    // ends; only the logged numbers leave it.
    const row = await tidy(async () => {
      const { terms, values = {} } = await body.step(it);
      for (const [name, t] of Object.entries(terms)) o.watch.term(name, t);
      // Submit the whole step now: the GPU runs it while this thread prepares the next batch.
      flush();
      let r: Record<string, number> | null = null;
      if (logging) {
        r = { [o.counter]: at, ...values };
        for (const [name, t] of Object.entries(terms)) r[name] = (await t.data())[0];
      }
      for (const t of Object.values(terms)) t.dispose();
      return r;
    });
    it++;
    if (row) {
      const seconds = (performance.now() - t0) / 1000;
      const memory = memoryRow();
      Object.assign(row, body.rowExtras?.(row, seconds) ?? {}, memory);
      appendFileSync(o.logPath, JSON.stringify(row) + '\n');
      crashPoint('log');
      o.bar.update(at, body.progress(row, formatMemory(memory)));
      await stop(at); // the flags, read where the loss was read
    } else o.bar.update(at);
    if (at % o.every === 0 || at === o.total) {
      await stop(at); // never validate, checkpoint or export a diverged model
      await tidy(() => body.periodic(at));
      lastCheckpoint = at;
    }
  }
  o.bar.done();
}
