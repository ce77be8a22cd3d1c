// One training stage (supervised training, BCP/SRA-Seg pre-training or self-training) on the shared
// loop (loop.ts): the method's step every iteration, validation of the student every `valEvery`,
// then the stage's one checkpoint (checkpoint.ts: student, extra modules, the best student so far,
// optimiser, dropout/RNG/sampler state, best Dice — one atomic file) and, after it, the exports for
// users: model_last.safetensors, <extra>_last.safetensors and model_best.safetensors (PyTorch names).
// Resume reads the checkpoint only, cuts log.jsonl back to its iteration and rewrites the exports from
// it. The run folder's rules (never overwrite, resume needs a checkpoint, flags as in config.json)
// are the trainers' (openRunFolder); `resume` here continues this stage from its checkpoint if it has
// one and starts it afresh otherwise (a stage the run had not reached yet).
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressBar } from '../report/progress.js';
import type { SegDataset } from '../data/dataset.js';
import { splitValidation, type ValSplit } from '../data/val-split.js';
import { summarize } from '../metrics/multiclass.js';
import { type GeneratorState, type HostTensor, type Module, type Optimizer, type OptimizerStateDict, saveSafetensors, sync, type Tensor, writeFileAtomic } from '../engine/index.js';
import { UserError } from '../errors.js';
import type { UNet } from '../models/unet.js';
import { CHECKPOINT_FILE, hostGroups, hostOptimizers, readCheckpoint, restoreModules, restoreOptimizers, writeCheckpoint } from './checkpoint.js';
import { crashPoint } from './crash-points.js';
import { plotCurves } from './curves.js';
import { DivergenceWatch } from './divergence.js';
import { evaluateVolumes, type VolumeEvaluation } from './evaluate.js';
import { runLoop } from './loop.js';
import { cutLog, removeTemporaryFiles } from './run-folder.js';

export interface StageConfig {
  /** Folder of this stage's files. */
  out: string;
  iterations: number;
  valEvery: number;
  /** Iterations between loss read-backs (each costs a GPU round trip). */
  logEvery: number;
  size: number;
  /** Continue from this stage's checkpoint when it has one. */
  resume: boolean;
  /** Validate on the first N volumes only (default all). */
  valLimit?: number;
  /** Which half of the validation volumes chooses the best checkpoint (src/data/val-split.ts; default all). */
  valSplit?: ValSplit;
  /** Replaces BCP's volume protocol for validation (e.g. per-image 2D fundus scoring); gets the volume names. */
  validate?: Validator;
  /**
   * Keep the optimiser's state at the best validation in the checkpoint too (`best.optimizer`): BCP's
   * and SRA-Seg's self-training starts from it, as their published code reloads it.
   */
  keepBestOptimizer?: boolean;
  /** Names the stage (`stage`: the progress label). The run's config.json is written by openRunFolder. */
  describe: Record<string, unknown>;
}

export type Validator = (model: UNet, names: readonly string[]) => Promise<VolumeEvaluation>;

export interface StageMethod {
  /** The network being trained and validated. */
  student: UNet;
  optimizer: Optimizer;
  /** Further modules kept in the checkpoint (e.g. the EMA teacher) and exported as `<name>_last.safetensors`. */
  extraModules?: Record<string, Module>;
  /** One training iteration: forward, backward, optimiser (and EMA) step; returns the loss (owned by the caller) and extra scalars to log. */
  step(iteration: number): Promise<{ loss: Tensor; logs?: Record<string, Tensor> }>;
  /** Method state for resume (RNGs, samplers): JSON-serialisable. */
  getState(): unknown;
  setState(state: unknown): void;
}

/** What the checkpoint's metadata holds besides the tensors and the iteration. */
interface StageState {
  bestDice: number;
  bestIteration: number;
  generator: GeneratorState;
  method: unknown;
}

export interface StageResult {
  bestDice: number;
  bestIteration: number;
  bestCheckpoint: string;
  /** The optimiser's state at the best validation (with `keepBestOptimizer`). */
  bestOptimizer: OptimizerStateDict | null;
  last: VolumeEvaluation | null;
}

const BEST = 'best.student';
const BEST_OPTIMIZER = 'best.optimizer';

export async function runStage(data: SegDataset, cfg: StageConfig, m: StageMethod): Promise<StageResult> {
  mkdirSync(cfg.out, { recursive: true });
  const logPath = join(cfg.out, 'log.jsonl');
  const checkpointPath = join(cfg.out, CHECKPOINT_FILE);
  const bestPath = join(cfg.out, 'model_best.safetensors');
  const label = String(cfg.describe.stage ?? 'train');
  const modules: Record<string, Module> = { student: m.student, ...m.extraModules };
  let start = 0;
  let bestDice = -1;
  let bestIteration = 0;
  let best: Map<string, HostTensor> | null = null;
  let bestOptimizer: OptimizerStateDict | null = null;
  let last: VolumeEvaluation | null = null;

  /** The user's files, derived from the checkpoint's content (also to heal a kill between them). */
  const exportFiles = (groups: Record<string, Map<string, HostTensor>>, at: number, withBest: boolean) => {
    saveSafetensors(join(cfg.out, 'model_last.safetensors'), groups.student, { iteration: String(at) });
    crashPoint('export');
    for (const name of Object.keys(m.extraModules ?? {})) {
      saveSafetensors(join(cfg.out, `${name}_last.safetensors`), groups[name], { iteration: String(at) });
      crashPoint('export');
    }
    if (withBest && best) {
      saveSafetensors(bestPath, best, { iteration: String(bestIteration), dice: String(bestDice) });
      crashPoint('export');
    }
  };

  if (cfg.resume && existsSync(checkpointPath)) {
    const ck = readCheckpoint<StageState>(checkpointPath, 'unet-stage');
    if (ck.iteration > cfg.iterations) {
      throw new UserError(`${cfg.out}: its checkpoint is at iteration ${ck.iteration}, beyond the ${cfg.iterations} iterations asked for this ${label} stage; ask for at least ${ck.iteration}`);
    }
    restoreModules(checkpointPath, ck, modules);
    restoreOptimizers(checkpointPath, ck, { optimizer: m.optimizer });
    m.student.generator.setState(ck.state.generator);
    m.setState(ck.state.method);
    ({ bestDice, bestIteration } = ck.state);
    best = ck.groups[BEST] ?? null;
    bestOptimizer = ck.optimizers[BEST_OPTIMIZER] ?? null;
    start = ck.iteration;
    removeTemporaryFiles(cfg.out);
    cutLog(logPath, 'iteration', start);
    exportFiles(ck.groups, start, true);
    console.error(`resuming ${cfg.out} at iteration ${start} (best validation Dice ${bestDice.toFixed(4)} at ${bestIteration})`);
  } else {
    writeFileAtomic(logPath, '');
  }

  /**
   * Scores the student on every validation volume and logs them per volume and class (re-aggregatable
   * over any subset); returns the Dice that chooses the best checkpoint — with `valSplit: 'select'`
   * the selection half's mean only, so that the other half scores the choice honestly.
   */
  const validation = async (at: number): Promise<number> => {
    m.student.eval();
    const names = data.valVolumes.slice(0, cfg.valLimit ?? data.valVolumes.length);
    const result = await (cfg.validate ? cfg.validate(m.student, names) : evaluateVolumes(m.student, data, names, cfg.size));
    last = result;
    const split = cfg.valSplit ?? 'all';
    const halfDice = (half: 'select' | 'report') => {
      const keep = new Set(splitValidation(names, half));
      const scores = result.volumes.filter((v) => keep.has(v.name)).map((v) => v.scores);
      return scores.length ? (summarize(scores).literature.dice ?? 0) : null;
    };
    const dice = split === 'all' ? result.summary.meanDice : (halfDice('select') ?? result.summary.meanDice);
    const val = {
      dice: result.summary.meanDice,
      hd95: result.summary.meanHd95,
      perClass: result.summary.perClassDice,
      ...(split === 'all' ? {} : { split, selectDice: dice, reportDice: halfDice('report') }),
      perVolume: Object.fromEntries(result.volumes.map((v) => [v.name, v.scores.map((sc) => sc.dice)])),
    };
    appendFileSync(logPath, JSON.stringify({ iteration: at, val }) + '\n');
    return dice;
  };

  const bar = new ProgressBar(cfg.iterations, `${label} `, start);
  const watch = new DivergenceWatch();
  watch.observe(m.optimizer);
  try {
    await runLoop(
      { logPath, counter: 'iteration', start, total: cfg.iterations, logEvery: cfg.logEvery, every: cfg.valEvery, watch, bar },
      {
        step: async (it) => {
          m.student.train();
          const { loss, logs = {} } = await m.step(it);
          return { terms: { loss, ...logs } };
        },
        rowExtras: (_, seconds) => ({ seconds }),
        progress: (row, mem) => ({ loss: row.loss, best: Math.max(bestDice, 0), mem }),
        periodic: async (at) => {
          const dice = await validation(at);
          const groups = await hostGroups(modules);
          const optimizers = await hostOptimizers({ optimizer: m.optimizer });
          // A NaN Dice is no improvement (and the watch has already refused non-finite weights).
          const improved = Number.isFinite(dice) && dice > bestDice;
          if (improved) [bestDice, bestIteration, best] = [dice, at, groups.student];
          if (improved && cfg.keepBestOptimizer) bestOptimizer = optimizers.optimizer;
          bar.log(`iteration ${at}: validation Dice ${dice.toFixed(4)}${cfg.valSplit && cfg.valSplit !== 'all' ? ' (selection half)' : ''} (best ${bestDice.toFixed(4)} at ${bestIteration})`);
          writeCheckpoint<StageState>(checkpointPath, {
            trainer: 'unet-stage',
            iteration: at,
            groups: best ? { ...groups, [BEST]: best } : groups,
            optimizers: bestOptimizer ? { ...optimizers, [BEST_OPTIMIZER]: bestOptimizer } : optimizers,
            state: { bestDice, bestIteration, generator: m.student.generator.state(), method: m.getState() },
          });
          exportFiles(groups, at, improved);
          plotCurves(logPath, join(cfg.out, 'curves.png'), data.classNames?.slice(1));
        },
      },
    );
  } finally {
    watch.dispose();
  }
  await sync();
  return { bestDice, bestIteration, bestCheckpoint: bestPath, bestOptimizer, last };
}
