// Supervised training of the UNet on the labeled slices only (the "UNet (labeled only)" row of the
// paper's tables): the published loss 0.5·(CE + Dice), SGD, validation on volumes.
import { backward, keep, SGD, tensor, tidy } from '../engine/index.js';
import type { SegDataset } from '../data/dataset.js';
import { SeededRng, deriveSeed, type RngState } from '../data/rng.js';
import { TwoStreamBatchSampler, type TwoStreamSamplerState } from '../data/sampler.js';
import { supervisedSegLoss } from './supervised-loss.js';
import { UNet } from '../models/unet.js';
import { loadUNetWeights } from '../models/unet-weights.js';
import { prepareBatch } from './batch.js';
import type { ValSplit } from '../data/val-split.js';
import { openRunFolder, type RunFolderSpec } from './run-folder.js';
import { runStage, type StageResult, type Validator } from './stage.js';

export interface OptimConfig {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** What every UNet training run has, whatever the method: seed, size, schedule, run folder, start. */
export interface RunConfig extends OptimConfig {
  seed: number;
  size: number;
  valEvery: number;
  /** Iterations between loss read-backs (each costs a GPU round trip). */
  logEvery: number;
  out: string;
  /** Continue the run in `out` from its checkpoint (one must exist). */
  resume: boolean;
  /** On resume, accept flags that differ from the run's config.json (recorded there); default: refuse them. */
  allowConfigChanges?: boolean;
  /** Validation volumes to use (default all); fewer keeps CPU-adapter runs short. */
  valLimit?: number;
  /** The half of the validation volumes that chooses the best checkpoint (default all). */
  valSplit?: ValSplit;
  /** Validation protocol (default: BCP's volume protocol). */
  validate?: Validator;
  /** Start from these UNet weights (safetensors or a BCP/SSL4MIS .pth) instead of a random initialisation. */
  init?: string;
}

export interface SupervisedConfig extends RunConfig {
  iterations: number;
  batch: number;
}

/**
 * The supervised trainer's host-side random streams: which labeled slices each batch holds, and the
 * augmentation draws. Exported so that bench/dump-batches.js replays exactly what training sees
 * (the PyTorch twin, bench/pytorch_train_acdc.py, is checked against that dump).
 */
export function supervisedStreams(data: SegDataset, batch: number, seed: number): { sampler: TwoStreamBatchSampler; dataRng: SeededRng } {
  return {
    sampler: new TwoStreamBatchSampler(data.labeledIndices, [], batch, 0, deriveSeed(seed, 1)),
    dataRng: new SeededRng(deriveSeed(seed, 2)),
  };
}

/** The run folder of a supervised run: one stage in `out`, config.json = the config and the data. */
export function supervisedRunFolder(data: SegDataset, cfg: SupervisedConfig): RunFolderSpec {
  return { out: cfg.out, resume: cfg.resume, allowConfigChanges: cfg.allowConfigChanges, stages: [''], config: { method: 'supervised', ...cfg, data: data.describe() } };
}

export async function trainSupervised(data: SegDataset, cfg: SupervisedConfig): Promise<StageResult> {
  openRunFolder(supervisedRunFolder(data, cfg));
  const model = new UNet({ numClasses: data.numClasses, seed: cfg.seed });
  if (cfg.init) loadUNetWeights(cfg.init, model);
  const optimizer = new SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  let { sampler, dataRng } = supervisedStreams(data, cfg.batch, cfg.seed);
  console.error(`UNet: ${model.parameterCount().toLocaleString('en')} parameters · data: ${data.describe()}`);
  try {
    return await runStage(
      data,
      { ...cfg, describe: { method: 'supervised', stage: 'train' } },
      {
        student: model,
        optimizer,
        step: async () => {
          const { images, labels, shape } = prepareBatch(data, sampler.next().labeled, cfg.size, dataRng);
          const loss = tidy(() => {
            const l = supervisedSegLoss(model.forward(tensor(images, shape)), tensor(labels, [shape[0], shape[2], shape[3]], 'i32'));
            backward(l);
            optimizer.step();
            optimizer.zeroGrad();
            return keep(l);
          });
          return { loss };
        },
        getState: () => ({ sampler: sampler.state(), dataRng: dataRng.state() }),
        setState: (s) => {
          const st = s as { sampler: TwoStreamSamplerState; dataRng: RngState };
          sampler = new TwoStreamBatchSampler(data.labeledIndices, [], cfg.batch, 0, st.sampler);
          dataRng = SeededRng.fromState(st.dataRng);
        },
      },
    );
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
