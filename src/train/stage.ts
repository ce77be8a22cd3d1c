// One training stage (supervised training, BCP/SRA-Seg pre-training or self-training): the loop
// around a method's step — progress bar, loss read-back every `logEvery`, validation of the student
// every `valEvery`, best/last checkpoints (PyTorch names, atomic writes), the JSON-lines log, the
// curves PNG, and an exact resume from the last checkpoint (weights, optimiser, RNG and sampler state).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressBar } from '../report/progress.js';
import type { SegDataset } from '../data/dataset.js';
import { splitValidation, type ValSplit } from '../data/val-split.js';
import { flush, loadModule, type Module, type Optimizer, type OptimizerStateDict, saveModule, sync, type Tensor, tidy, writeFileAtomic } from '../engine/index.js';
import { formatMemory, memoryRow } from '../report/memory.js';
import type { UNet } from '../models/unet.js';
import { plotCurves } from './curves.js';
import { evaluateVolumes, type VolumeEvaluation } from './evaluate.js';
import { summarize } from '../metrics/multiclass.js';

export interface StageConfig {
  /** Folder of this stage's files. */
  out: string;
  iterations: number;
  valEvery: number;
  /** Iterations between loss read-backs (each costs a GPU round trip). */
  logEvery: number;
  size: number;
  resume: boolean;
  /** Validate on the first N volumes only (default all). */
  valLimit?: number;
  /** Which half of the validation volumes chooses the best checkpoint (src/data/val-split.ts; default all). */
  valSplit?: ValSplit;
  /** Replaces BCP's volume protocol for validation (e.g. per-image 2D fundus scoring); gets the volume names. */
  validate?: Validator;
  /** Written to config.json. */
  describe: Record<string, unknown>;
}

export type Validator = (model: UNet, names: readonly string[]) => Promise<VolumeEvaluation>;

export interface StageMethod {
  /** The network being trained and validated. */
  student: UNet;
  optimizer: Optimizer;
  /** Further modules saved with each checkpoint (e.g. the EMA teacher) under `<name>_last.safetensors`. */
  extraModules?: Record<string, Module>;
  /** One training iteration: forward, backward, optimiser (and EMA) step; returns the loss (owned by the caller) and extra scalars to log. */
  step(iteration: number): Promise<{ loss: Tensor; logs?: Record<string, Tensor> }>;
  /** Method state for resume (RNGs, samplers): JSON-serialisable. */
  getState(): unknown;
  setState(state: unknown): void;
}

interface SavedState {
  iteration: number;
  bestDice: number;
  bestIteration: number;
  optimizer: OptimizerStateDict;
  generator: { seed: number; offset: number };
  method: unknown;
}

export interface StageResult {
  bestDice: number;
  bestIteration: number;
  bestCheckpoint: string;
  last: VolumeEvaluation | null;
}

export async function runStage(data: SegDataset, cfg: StageConfig, m: StageMethod): Promise<StageResult> {
  mkdirSync(cfg.out, { recursive: true });
  const logPath = join(cfg.out, 'log.jsonl');
  const statePath = join(cfg.out, 'state_last.json');
  const bestPath = join(cfg.out, 'model_best.safetensors');
  let start = 0;
  let bestDice = -1;
  let bestIteration = 0;

  if (cfg.resume && existsSync(statePath)) {
    const st = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
    loadModule(join(cfg.out, 'model_last.safetensors'), m.student);
    for (const [name, mod] of Object.entries(m.extraModules ?? {})) loadModule(join(cfg.out, `${name}_last.safetensors`), mod);
    m.optimizer.loadStateDict(reviveOptimizerState(st.optimizer));
    m.student.generator.setState(st.generator);
    m.setState(st.method);
    [start, bestDice, bestIteration] = [st.iteration, st.bestDice, st.bestIteration];
    console.error(`resuming ${cfg.out} at iteration ${start} (best validation Dice ${bestDice.toFixed(4)} at ${bestIteration})`);
  } else {
    writeFileAtomic(logPath, '');
    writeFileAtomic(join(cfg.out, 'config.json'), JSON.stringify({ ...cfg.describe, data: data.describe(), ...cfg }, null, 2));
  }

  const bar = new ProgressBar(cfg.iterations, `${cfg.describe.stage ?? 'train'} `, start);
  let last: VolumeEvaluation | null = null;
  const t0 = performance.now();
  for (let it = start; it < cfg.iterations; ) {
    const logging = (it + 1) % cfg.logEvery === 0 || it + 1 === cfg.iterations;
    // One scope per iteration: whatever the step allocates — batch, forward, backward, the teacher's
    // pseudo-labels, across its awaits — is freed when it ends; only the logged numbers leave it.
    const row = await tidy(async () => {
      m.student.train();
      const { loss, logs = {} } = await m.step(it);
      // Submit the whole step now: the GPU (or llvmpipe's threads) runs it while this thread prepares
      // the next batch on the CPU, so data preparation never makes the GPU wait.
      flush();
      const values: Record<string, number> | null = logging ? { iteration: it + 1, loss: await loss.item() } : null;
      if (values) for (const [k, t] of Object.entries(logs)) values[k] = await t.item();
      // Steps may hand their loss out of every scope (keep): it is ours to free either way.
      loss.dispose();
      for (const t of Object.values(logs)) t.dispose();
      return values;
    });
    it++;
    if (row) {
      const memory = memoryRow();
      Object.assign(row, { seconds: (performance.now() - t0) / 1000 }, memory);
      appendFileSync(logPath, JSON.stringify(row) + '\n');
      bar.update(it, { loss: row.loss, best: Math.max(bestDice, 0), mem: formatMemory(memory) });
    } else bar.update(it);

    if (it % cfg.valEvery === 0 || it === cfg.iterations) {
      const at = it;
      await tidy(async () => {
        m.student.eval();
        // Every validation volume is scored and logged (per volume and class: re-aggregatable over any
        // subset); with --val-split select only the selection half's mean chooses the best checkpoint.
        const names = data.valVolumes.slice(0, cfg.valLimit);
        last = await (cfg.validate ? cfg.validate(m.student, names) : evaluateVolumes(m.student, data, names, cfg.size));
        const split = cfg.valSplit ?? 'all';
        const halfDice = (half: 'select' | 'report') => {
          const keep = new Set(splitValidation(names, half));
          const scores = last!.volumes.filter((v) => keep.has(v.name)).map((v) => v.scores);
          return scores.length ? (summarize(scores).literature.dice ?? 0) : null;
        };
        const dice = split === 'all' ? last.summary.meanDice : (halfDice('select') ?? last.summary.meanDice);
        const perVolume = Object.fromEntries(last.volumes.map((v) => [v.name, v.scores.map((sc) => sc.dice)]));
        const val = {
          dice: last.summary.meanDice,
          hd95: last.summary.meanHd95,
          perClass: last.summary.perClassDice,
          ...(split === 'all' ? {} : { split, selectDice: dice, reportDice: halfDice('report') }),
          perVolume,
        };
        appendFileSync(logPath, JSON.stringify({ iteration: at, val }) + '\n');
        if (dice > bestDice) {
          [bestDice, bestIteration] = [dice, at];
          await saveModule(bestPath, m.student, { iteration: String(at), dice: String(dice) });
        }
        bar.log(`iteration ${at}: validation Dice ${dice.toFixed(4)}${split === 'all' ? '' : ' (selection half)'} (best ${bestDice.toFixed(4)} at ${bestIteration})`);
        await saveModule(join(cfg.out, 'model_last.safetensors'), m.student, { iteration: String(at) });
        for (const [name, mod] of Object.entries(m.extraModules ?? {})) await saveModule(join(cfg.out, `${name}_last.safetensors`), mod, { iteration: String(at) });
        const state: SavedState = {
          iteration: at,
          bestDice,
          bestIteration,
          optimizer: await m.optimizer.stateDict(),
          generator: m.student.generator.state(),
          method: m.getState(),
        };
        writeFileAtomic(statePath, JSON.stringify(state, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
        plotCurves(logPath, join(cfg.out, 'curves.png'), data.classNames?.slice(1));
      });
    }
  }
  bar.done();
  await sync();
  return { bestDice, bestIteration, bestCheckpoint: bestPath, last };
}

/** JSON turned the optimiser's Float32Array slots into plain arrays; make them typed again. */
function reviveOptimizerState(saved: OptimizerStateDict): OptimizerStateDict {
  return {
    ...saved,
    state: saved.state.map((s) =>
      s ? { step: s.step, slots: Object.fromEntries(Object.entries(s.slots).map(([k, v]) => [k, Float32Array.from(v as ArrayLike<number>)])) } : null,
    ),
  };
}
