// Supervised training of the UNet on labeled slices (the "UNet (labeled only)" row of the paper's
// tables), with validation on volumes, best/last checkpoints, exact resume, a JSON-lines log and a
// PNG of the curves. The semi-supervised methods build on the same pieces.
import { existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { backward } from '../autograd/node.js';
import { flush, sync } from '../gpu/runtime.js';
import { writeFileAtomic } from '../io/safetensors.js';
import { supervisedSegLoss } from '../losses/segmentation.js';
import { UNet } from '../models/unet.js';
import { loadModule, saveModule } from '../nn/checkpoint.js';
import { SeededRng, deriveSeed, type RngState } from '../data/rng.js';
import { TwoStreamBatchSampler, type TwoStreamSamplerState } from '../data/sampler.js';
import type { SegDataset } from '../data/dataset.js';
import { SGD, type OptimizerStateDict } from '../nn/optim.js';
import { ProgressBar } from '../cli/progress.js';
import { keep, tidy } from '../tensor/scope.js';
import { tensor } from '../tensor/tensor.js';
import { evaluateVolumes, type VolumeEvaluation } from './evaluate.js';
import { prepareBatch } from './batch.js';
import { plotCurves } from './curves.js';

export interface SupervisedConfig {
  iterations: number;
  batch: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  size: number;
  valEvery: number;
  /** Iterations between loss read-backs (each costs a GPU round trip). */
  logEvery: number;
  out: string;
  resume: boolean;
  /** Validation volumes to use (default all); fewer keeps CPU-adapter runs short. */
  valLimit?: number;
}

interface RunState {
  iteration: number;
  bestDice: number;
  bestIteration: number;
  dataRng: RngState;
  sampler: TwoStreamSamplerState;
  generator: { seed: number; offset: number };
  optimizer: OptimizerStateDict;
}

export async function trainSupervised(data: SegDataset, cfg: SupervisedConfig): Promise<{ bestDice: number; last: VolumeEvaluation | null }> {
  mkdirSync(cfg.out, { recursive: true });
  const logPath = join(cfg.out, 'log.jsonl');
  const statePath = join(cfg.out, 'state_last.json');
  const model = new UNet({ numClasses: data.numClasses, seed: cfg.seed });
  const optimizer = new SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  let sampler = new TwoStreamBatchSampler(data.labeledIndices, [], cfg.batch, 0, deriveSeed(cfg.seed, 1));
  let dataRng = new SeededRng(deriveSeed(cfg.seed, 2));
  let start = 0;
  let bestDice = -1;
  let bestIteration = 0;

  if (cfg.resume && existsSync(statePath)) {
    const st = JSON.parse(readFileSync(statePath, 'utf8')) as RunState;
    loadModule(join(cfg.out, 'model_last.safetensors'), model);
    optimizer.loadStateDict(reviveOptimizerState(st.optimizer));
    sampler = new TwoStreamBatchSampler(data.labeledIndices, [], cfg.batch, 0, st.sampler);
    dataRng = SeededRng.fromState(st.dataRng);
    model.generator.setState(st.generator);
    start = st.iteration;
    bestDice = st.bestDice;
    bestIteration = st.bestIteration;
    console.error(`resuming ${cfg.out} at iteration ${start} (best validation Dice ${bestDice.toFixed(4)} at ${bestIteration})`);
  } else {
    writeFileAtomic(logPath, '');
    writeFileAtomic(join(cfg.out, 'config.json'), JSON.stringify({ method: 'supervised', data: data.describe(), ...cfg }, null, 2));
  }
  console.error(`UNet: ${model.parameterCount().toLocaleString('en')} parameters · data: ${data.describe()}`);

  const bar = new ProgressBar(cfg.iterations, 'train ', start);
  let lastEval: VolumeEvaluation | null = null;
  const t0 = performance.now();
  for (let it = start; it < cfg.iterations; ) {
    const { images, labels, shape } = prepareBatch(data, sampler.next().labeled, cfg.size, dataRng);
    model.train();
    const loss = tidy(() => {
      const x = tensor(images, shape);
      const y = tensor(labels, [shape[0], shape[2], shape[3]], 'i32');
      const l = supervisedSegLoss(model.forward(x), y);
      backward(l);
      optimizer.step();
      optimizer.zeroGrad();
      return keep(l);
    });
    // Submit the whole step now: the GPU (or llvmpipe's threads) runs it while this thread augments and
    // zooms the next batch, so data preparation never makes the GPU wait.
    flush();
    it++;
    if (it % cfg.logEvery === 0 || it === cfg.iterations) {
      const value = await loss.item();
      appendFileSync(logPath, JSON.stringify({ iteration: it, loss: value, seconds: (performance.now() - t0) / 1000 }) + '\n');
      bar.update(it, { loss: value, best: Math.max(bestDice, 0) });
    } else {
      bar.update(it);
    }
    loss.dispose();

    if (it % cfg.valEvery === 0 || it === cfg.iterations) {
      model.eval();
      lastEval = await evaluateVolumes(model, data, data.valVolumes.slice(0, cfg.valLimit ?? data.valVolumes.length), cfg.size);
      const dice = lastEval.summary.meanDice;
      appendFileSync(logPath, JSON.stringify({ iteration: it, val: { dice, hd95: lastEval.summary.meanHd95, perClass: lastEval.summary.perClassDice } }) + '\n');
      if (dice > bestDice) {
        bestDice = dice;
        bestIteration = it;
        await saveModule(join(cfg.out, 'model_best.safetensors'), model, { iteration: String(it), dice: String(dice) });
      }
      bar.log(`iteration ${it}: validation Dice ${dice.toFixed(4)} (best ${bestDice.toFixed(4)} at ${bestIteration})`);
      await saveModule(join(cfg.out, 'model_last.safetensors'), model, { iteration: String(it) });
      const state: RunState = {
        iteration: it,
        bestDice,
        bestIteration,
        dataRng: dataRng.state(),
        sampler: sampler.state(),
        generator: model.generator.state(),
        optimizer: await optimizer.stateDict(),
      };
      writeFileAtomic(statePath, JSON.stringify(state, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
      plotCurves(logPath, join(cfg.out, 'curves.png'));
    }
  }
  bar.done();
  await sync();
  optimizer.dispose();
  model.dispose();
  return { bestDice, last: lastEval };
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
