// StyleGAN2-ADA training (training/training_loop.py of NVlabs/stylegan2-ada-pytorch, read for the
// facts) on the loop every trainer shares (src/train/loop.ts): each iteration one minibatch of
// phases (phases.ts: Gmain, Greg, Dmain, Dreg, G_ema, ADA), each phase with its own Adam whose lr and
// betas are rescaled for the lazy regularisation; every snapshotKimg a snapshot (grid, FD/KID), the
// checkpoint and the exports.
//
// Files in `out` (the run-folder rules of src/train/run-folder.ts): config.json; checkpoint.safetensors
// (G, D, G_ema, the lowest-FD G_ema, both Adams and the loop state — the format every trainer shares,
// one atomic write; `resume` continues from it and nothing else); the exports written after it:
// G_ema.safetensors (the network `bench/generate.js` reads, its config in the metadata) and
// G_ema_best.safetensors (the snapshot with the lowest FD); log.jsonl, reals.png, fakes<kimg>.png
// snapshot grids of G_ema on fixed latents, curves.png.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, BufferLimitError, formatMiB, Generator, type GeneratorState, type HostTensor, keep, type Module, noGrad, randn, slice, type Tensor, tidy, updateEmaModel, writeFileAtomic } from '../engine/index.js';
import { ProgressBar } from '../report/progress.js';
import { CHECKPOINT_FILE, hostGroups, hostOptimizers, readCheckpoint, restoreModules, restoreOptimizers, writeCheckpoint } from '../train/checkpoint.js';
import { crashPoint } from '../train/crash-points.js';
import { DivergenceWatch } from '../train/divergence.js';
import { runLoop } from '../train/loop.js';
import { cutLog, openRunFolder, type RunFolderSpec } from '../train/run-folder.js';
import { StyleGanPhases } from './phases.js';
import { SeededRng, deriveSeed } from '../data/rng.js';
import { Discriminator, type DiscriminatorConfig } from '../models/stylegan2/discriminator.js';
import { StyleGAN2Generator, type GeneratorConfig } from '../models/stylegan2/generator.js';
import { imageGrid, imagesFromNchw } from '../report/grid.js';
import { writePng } from '../report/png.js';
import { AugmentPipe } from './ada.js';
import { AdaController } from './ada-controller.js';
import { UserError } from '../errors.js';
import { GAN_LOSS_DEFAULTS, StyleGAN2Loss, type GanLossConfig } from './loss.js';
import { saveNetworkHost, type GanSnapshot } from './checkpoint.js';
import { plotGanCurves } from './curves.js';
import { EMBED_CHUNK, embedAll, imagesOf, type FeatureNetwork, type SetDistance } from './measure.js';
import { loadPklWeights } from './pkl.js';
import type { PklNetworkFields, StyleGanStart } from './pkl-start.js';
import type { RealImageSet } from './reals.js';

/**
 * The network shape (the resolution comes from the real images): the fields a snapshot fixes, of
 * which mbstdChannels, mappingLrMultiplier and wAvgBeta may be left out (the published 1, 0.01, 0.995).
 */
type OptionalNetworkField = 'mbstdChannels' | 'mappingLrMultiplier' | 'wAvgBeta';
type NetworkShape = Omit<PklNetworkFields, OptionalNetworkField> & Partial<Pick<PklNetworkFields, OptionalNetworkField>>;

export interface StyleGanTrainConfig extends GanLossConfig, NetworkShape {
  out: string;
  /** Continue the run in `out` from its checkpoint (one must exist). */
  resume: boolean;
  /** On resume, accept flags that differ from the run's config.json (recorded there); default: refuse them. */
  allowConfigChanges?: boolean;
  seed: number;
  /** Training length in thousands of real images shown to D. */
  kimg: number;
  batch: number;
  /**
   * Images per forward/backward pass (published `batch_gpu`): the minibatch runs in batch/batchGpu
   * rounds whose gradients accumulate (src/gan/phases.ts); default the whole batch. For shapes whose
   * tensors exceed the adapter's binding limit in one pass.
   */
  batchGpu?: number;
  lr: number;
  betas: [number, number];
  r1Interval: number;
  plInterval: number;
  /** G_ema half-life in thousands of images, with its ramp-up (published 'auto': batch·10/32 and 0.05). */
  emaKimg: number;
  emaRampup: number | null;
  /** 'ada': p adapted toward adaTarget; 'fixed': p = augmentP; 'none'. */
  augment: 'ada' | 'fixed' | 'none';
  augmentP: number;
  adaTarget: number;
  adaInterval: number;
  adaKimg: number;
  /** Snapshot (grid, FD, checkpoint) every this many kimg, and at the end. */
  snapshotKimg: number;
  /** Minibatches between loss read-backs. */
  logEvery: number;
  /** Images in the snapshot grid. */
  gridImages: number;
  /** Fakes used for FD at each snapshot (the reals: all of them). */
  fdImages: number;
}

export const STYLEGAN_TRAIN_DEFAULTS: Omit<StyleGanTrainConfig, 'out' | 'resume' | 'allowConfigChanges'> = {
  ...GAN_LOSS_DEFAULTS,
  seed: 0,
  kimg: 25000,
  batch: 32,
  zDim: 512,
  wDim: 512,
  mappingLayers: 2,
  channelBase: 16384,
  channelMax: 512,
  convClamp: 256,
  mbstdGroupSize: 4,
  lr: 0.0025,
  betas: [0, 0.99],
  r1Interval: 16,
  plInterval: 4,
  emaKimg: 10,
  emaRampup: 0.05,
  augment: 'ada',
  augmentP: 0,
  adaTarget: 0.6,
  adaInterval: 4,
  adaKimg: 500,
  snapshotKimg: 4,
  logEvery: 4,
  gridImages: 32,
  fdImages: 512,
};

/**
 * Why `batchGpu` cannot split a minibatch of `batch` (null when it can): it must divide the batch, and
 * each round's minibatch-std groups (of min(groupSize, batchGpu) images) must divide the round.
 */
export function checkBatchGpu(batch: number, batchGpu: number | undefined, mbstdGroupSize: number): string | null {
  if (batchGpu === undefined) return null;
  if (!Number.isInteger(batchGpu) || batchGpu < 1 || batch % batchGpu) {
    const divisors = Array.from({ length: batch }, (_, i) => i + 1).filter((d) => batch % d === 0 && (d < mbstdGroupSize || d % mbstdGroupSize === 0));
    return `must divide the batch of ${batch} into equal rounds: one of ${divisors.join(', ')}`;
  }
  if (batchGpu >= mbstdGroupSize && batchGpu % mbstdGroupSize) {
    return `each round's minibatch-std groups of ${mbstdGroupSize} need it below ${mbstdGroupSize} or a multiple of it`;
  }
  return null;
}

/**
 * A pass too large for one buffer, restated with the fix that keeps the minibatch: smaller rounds
 * (other errors unchanged). The suggestion scales the failing buffer with the images per pass; a
 * larger buffer further on may ask for smaller rounds still, and says so the same way.
 */
export function passTooLarge(e: unknown, cfg: StyleGanTrainConfig, resolution: number): unknown {
  if (!(e instanceof BufferLimitError)) return e;
  const pass = cfg.batchGpu ?? cfg.batch;
  // The large buffers (activations, per-sample weights) grow with the images in a pass.
  const fits = Math.floor((pass * e.limit) / e.bytes);
  const rounds = Array.from({ length: fits }, (_, i) => fits - i).find((d) => checkBatchGpu(cfg.batch, d, cfg.mbstdGroupSize) === null);
  const fix = rounds ? `run the minibatch in rounds of ${rounds} or fewer images (--batch-gpu ${rounds}, batchGpu)` : 'not even one image per pass fits: lower the resolution';
  return new UserError(`one pass of ${pass} images at ${resolution}² needs ${formatMiB(e.bytes)} in one buffer (${e.label}), above this adapter's ${formatMiB(e.limit)}: ${fix}`);
}

export interface StyleGanRunResult {
  snapshots: GanSnapshot[];
  G_ema: string;
}

/** The generator and discriminator configurations a training config implies (also stored in checkpoints). */
export function networkConfigs(cfg: StyleGanTrainConfig, resolution: number): { G: GeneratorConfig; D: DiscriminatorConfig } {
  const shared = { imgResolution: resolution, imgChannels: 1, channelBase: cfg.channelBase, channelMax: cfg.channelMax, convClamp: cfg.convClamp };
  const mapping = { mappingLrMultiplier: cfg.mappingLrMultiplier ?? 0.01, wAvgBeta: cfg.wAvgBeta ?? 0.995 };
  return {
    G: { ...shared, zDim: cfg.zDim, wDim: cfg.wDim, mappingLayers: cfg.mappingLayers, ...mapping, seed: deriveSeed(cfg.seed, 11) },
    D: { ...shared, mbstdGroupSize: cfg.mbstdGroupSize, mbstdChannels: cfg.mbstdChannels ?? 1, seed: deriveSeed(cfg.seed, 12) },
  };
}

/**
 * The trainer's networks and augment pipe: freshly initialised, or with the weights and p of `start`
 * (`loadStart` false: only its augment transforms — a run resuming from its own checkpoint).
 */
export function buildStyleGanNetworks(cfg: StyleGanTrainConfig, resolution: number, start?: StyleGanStart, loadStart = true) {
  const nets = networkConfigs(cfg, resolution);
  if (start) checkStart(cfg, resolution, start);
  const G = new StyleGAN2Generator(nets.G);
  const D = new Discriminator(nets.D);
  const G_ema = new StyleGAN2Generator(nets.G).eval();
  updateEmaModel(G_ema, G, 0, { buffers: true }); // start as an exact copy
  try {
    if (start && loadStart) {
      loadPklWeights(G, start.G, `${start.source}: G`);
      loadPklWeights(D, start.D, `${start.source}: D`);
      loadPklWeights(G_ema, start.G_ema, `${start.source}: G_ema`);
    }
  } catch (e) {
    for (const m of [G, D, G_ema]) m.dispose();
    throw e;
  }
  // ADA continues from the snapshot's p (and its transforms); a fixed p is the one asked for.
  const fromPkl = start?.augment;
  const p = cfg.augment === 'fixed' ? cfg.augmentP : cfg.augment === 'ada' && fromPkl && loadStart ? fromPkl.p : 0;
  const augment =
    cfg.augment === 'none' ? null : new AugmentPipe({ seed: deriveSeed(cfg.seed, 13), p, probabilities: fromPkl?.probabilities, ranges: fromPkl?.ranges });
  return { nets, G, D, G_ema, augment };
}

/** A config that disagrees with the snapshot it starts from would build other networks: refuse. */
function checkStart(cfg: StyleGanTrainConfig, resolution: number, start: StyleGanStart): void {
  const ours: Record<string, unknown> = { resolution, ...networkFieldsOf(cfg) };
  const theirs: Record<string, unknown> = { resolution: start.resolution, ...start.networks };
  const diff = Object.keys(theirs).filter((k) => ours[k] !== theirs[k]);
  if (diff.length) throw new Error(`${start.source}: the training config differs from the snapshot in ${diff.map((k) => `${k} (${ours[k]} vs ${theirs[k]})`).join(', ')}`);
}

function networkFieldsOf(cfg: StyleGanTrainConfig): PklNetworkFields {
  return {
    zDim: cfg.zDim,
    wDim: cfg.wDim,
    mappingLayers: cfg.mappingLayers,
    channelBase: cfg.channelBase,
    channelMax: cfg.channelMax,
    convClamp: cfg.convClamp,
    mbstdGroupSize: cfg.mbstdGroupSize,
    mbstdChannels: cfg.mbstdChannels ?? 1,
    mappingLrMultiplier: cfg.mappingLrMultiplier ?? 0.01,
    wAvgBeta: cfg.wAvgBeta ?? 0.995,
  };
}


/** Loop and method state in the checkpoint's metadata (the tensors hold the networks and Adams). */
interface GanLoopState {
  nimg: number;
  plMean: number;
  ada: Awaited<ReturnType<AdaController['state']>> | null;
  augment: ReturnType<AugmentPipe['state']> | null;
  reals: ReturnType<RealImageSet['state']>;
  random: GeneratorState;
  hostRandom: ReturnType<SeededRng['state']>;
  snapshots: GanSnapshot[];
  /** kimg of the lowest-FD G_ema kept in the checkpoint (group best.G_ema), if any. */
  bestKimg: number | null;
}

const BEST = 'best.G_ema';

/** The run folder of a StyleGAN2 run: one stage in `out`; config.json = the config, the reals and the networks. */
export function styleGanRunFolder(reals: RealImageSet, cfg: StyleGanTrainConfig, start?: StyleGanStart): RunFolderSpec {
  return {
    out: cfg.out,
    resume: cfg.resume,
    allowConfigChanges: cfg.allowConfigChanges,
    stages: [''],
    config: { ...cfg, resolution: reals.resolution, realImages: reals.count, networks: networkConfigs(cfg, reals.resolution), startedFrom: start?.source },
  };
}

export async function trainStyleGAN(
  reals: RealImageSet,
  cfg: StyleGanTrainConfig,
  measure?: { features: FeatureNetwork; distance: SetDistance },
  /** Start from these networks (an official snapshot) unless the run resumes from its own checkpoint. */
  start?: StyleGanStart,
): Promise<StyleGanRunResult> {
  const batchGpuProblem = checkBatchGpu(cfg.batch, cfg.batchGpu, cfg.mbstdGroupSize);
  if (batchGpuProblem) throw new UserError(`batchGpu ${cfg.batchGpu}: ${batchGpuProblem}`); // before the run folder exists
  const folder = openRunFolder(styleGanRunFolder(reals, cfg, start));
  const checkpointPath = join(cfg.out, CHECKPOINT_FILE);
  const logPath = join(cfg.out, 'log.jsonl');
  const ck = folder.resuming ? readCheckpoint<GanLoopState>(checkpointPath, 'stylegan2') : null;
  const totalSteps = Math.ceil((cfg.kimg * 1000) / cfg.batch);
  if (ck && ck.iteration > totalSteps) {
    throw new UserError(`${cfg.out}: its checkpoint is at step ${ck.iteration} (${(ck.state.nimg / 1000).toFixed(3)} kimg), beyond --kimg ${cfg.kimg}; ask for at least that much`);
  }
  const { nets, G, D, G_ema, augment } = buildStyleGanNetworks(cfg, reals.resolution, start, !ck);
  if (start && ck) console.error(`${checkpointPath} exists: resuming from it (${start.source} only fixed the networks' configuration)`);
  else if (start) console.error(`starting from ${start.source}: G, D, G_ema${start.augment ? ` and ADA p = ${start.augment.p.toFixed(4)}` : ''}`);
  // Lazy regularisation: the regularised phases run every `interval` minibatches with their loss ×interval;
  // the published rescaling of Adam's lr and betas keeps the effective optimiser the same.
  const adam = (m: Module, interval: number) => {
    const r = interval / (interval + 1);
    return new Adam(m.parameters(), { lr: cfg.lr * r, betas: [cfg.betas[0] ** r, cfg.betas[1] ** r], eps: 1e-8 });
  };
  const optG = adam(G, cfg.plInterval);
  const optD = adam(D, cfg.r1Interval);
  const ada = cfg.augment === 'ada' ? new AdaController(augment!, { target: cfg.adaTarget, interval: cfg.adaInterval, kimg: cfg.adaKimg, batchSize: cfg.batch }) : null;
  const random = ck ? Generator.fromState(ck.state.random) : new Generator(deriveSeed(cfg.seed, 14));
  const hostRandom = ck ? SeededRng.fromState(ck.state.hostRandom) : new SeededRng(deriveSeed(cfg.seed, 15));
  const loss = new StyleGAN2Loss(G, D, augment, cfg, random, hostRandom);
  const phases = new StyleGanPhases({ cfg, G, D, G_ema, optG, optD, loss, augment, ada, reals });
  const watch = new DivergenceWatch();
  watch.observe(optG, 'G');
  watch.observe(optD, 'D');
  const networks = { G, D, G_ema };
  let step = 0;
  let snapshots: GanSnapshot[] = [];
  let best: { weights: Map<string, HostTensor>; kimg: number } | null = null;
  // Fixed latents for the snapshot grids (their own stream: the grid is the same across resumes).
  const gridZ = keep(tidy(() => randn([cfg.gridImages, cfg.zDim], new Generator(deriveSeed(cfg.seed, 16)))));
  const bar = new ProgressBar(totalSteps, 'stylegan ', ck?.iteration ?? 0);

  /** The user's files, from host copies of the checkpoint's content (also to heal a kill between them). */
  const exportFiles = (emaWeights: Map<string, HostTensor>, kimg: number, withBest: boolean) => {
    saveNetworkHost(join(cfg.out, 'G_ema.safetensors'), emaWeights, nets.G, kimg);
    crashPoint('export');
    if (withBest && best) {
      saveNetworkHost(join(cfg.out, 'G_ema_best.safetensors'), best.weights, nets.G, best.kimg);
      crashPoint('export');
    }
  };

  try {
    if (ck) {
      restoreModules(checkpointPath, ck, networks);
      restoreOptimizers(checkpointPath, ck, { optG, optD });
      const st = ck.state;
      step = ck.iteration;
      phases.nimg = st.nimg;
      snapshots = st.snapshots;
      reals.setState(st.reals);
      if (augment && st.augment) augment.loadState(st.augment);
      if (ada && st.ada) ada.loadState(st.ada);
      loss.plMean = st.plMean;
      best = ck.groups[BEST] && st.bestKimg !== null ? { weights: ck.groups[BEST], kimg: st.bestKimg } : null;
      cutLog(logPath, 'step', step);
      exportFiles(ck.groups.G_ema, st.nimg / 1000, true);
      console.error(`resumed at ${(st.nimg / 1000).toFixed(1)} kimg (step ${step}) from ${checkpointPath}`);
    } else {
      writeFileAtomic(logPath, '');
      await tidy(async () => {
        const r = reals.slice(0, cfg.gridImages);
        writePng(join(cfg.out, 'reals.png'), imageGrid(imagesFromNchw(await r.data(), r.shape, [-1, 1]), { columns: 8, scale: 2 }));
      });
    }
    console.error(
      `StyleGAN2: G ${count(G)} · D ${count(D)} parameters · ${reals.count} real images at ${reals.resolution}² · ` +
        `${cfg.kimg} kimg = ${totalSteps} minibatches of ${cfg.batch} · augment ${cfg.augment}`,
    );
    if (step === 0) await tidy(takeSnapshot); // the untrained generator: where FD starts from
    const startImg = phases.nimg;
    await runLoop(
      { logPath, counter: 'step', start: step, total: totalSteps, logEvery: cfg.logEvery, every: Math.max(1, Math.round((cfg.snapshotKimg * 1000) / cfg.batch)), watch, bar },
      {
        step: (index) => phases.minibatch(index).catch((e) => Promise.reject(passTooLarge(e, cfg, reals.resolution))),
        rowExtras: (row, seconds) => ({ images_per_s: (row.kimg * 1000 - startImg) / seconds }),
        progress: (row, mem) => ({ kimg: row.kimg.toFixed(2), G: row.G_loss, D: (row.D_loss_fake ?? 0) + (row.D_loss_real ?? 0), p: row.p.toFixed(3), 'img/s': row.images_per_s.toFixed(1), mem }),
        periodic: async (at) => {
          step = at;
          await takeSnapshot();
          const groups = await hostGroups(networks);
          // GAN training is not monotone: keep the generator with the lowest FD so far as well.
          const fds = snapshots.map((s) => s.fd ?? Infinity);
          const latest = fds[fds.length - 1];
          const improved = Number.isFinite(latest) && latest === Math.min(...fds);
          if (improved) best = { weights: groups.G_ema, kimg: phases.nimg / 1000 };
          writeCheckpoint<GanLoopState>(checkpointPath, {
            trainer: 'stylegan2',
            iteration: at,
            groups: best ? { ...groups, [BEST]: best.weights } : groups,
            optimizers: await hostOptimizers({ optG, optD }),
            state: {
              nimg: phases.nimg,
              plMean: loss.plMean,
              ada: (await ada?.state()) ?? null,
              augment: augment?.state() ?? null,
              reals: reals.state(),
              random: random.state(),
              hostRandom: hostRandom.state(),
              snapshots,
              bestKimg: best?.kimg ?? null,
            },
          });
          exportFiles(groups.G_ema, phases.nimg / 1000, improved);
          plotGanCurves(logPath, join(cfg.out, 'curves.png'), measure?.features.name);
        },
      },
    );
  } finally {
    watch.dispose();
    gridZ.dispose();
    augment?.dispose();
    ada?.dispose();
    for (const m of [G, D, G_ema]) m.dispose();
    optG.dispose();
    optD.dispose();
  }
  return { snapshots, G_ema: join(cfg.out, 'G_ema.safetensors') };

  /** Grid, FD and KID now, logged; a failed measurement is reported and training goes on. */
  async function takeSnapshot(): Promise<void> {
    const kimg = phases.nimg / 1000;
    let snap: GanSnapshot;
    try {
      snap = await snapshot(kimg);
    } catch (e) {
      // A measurement problem (e.g. a feature network too large for the adapter) must not cost the
      // training done so far: say so loudly, record it, and keep training.
      bar.log(`snapshot at ${kimg.toFixed(2)} kimg failed: ${(e as Error).message}`);
      snap = { kimg, error: (e as Error).message };
    }
    snapshots.push(snap);
    bar.log(`snapshot ${snap.kimg.toFixed(2)} kimg${snap.fd !== undefined ? ` · ${measure!.features.name} ${snap.fd.toFixed(3)}${snap.kid !== undefined ? ` · KID ${snap.kid.toFixed(5)}` : ''}` : ''}`);
    appendFileSync(logPath, JSON.stringify({ step, kimg: snap.kimg, snapshot: snap }) + '\n');
  }

  async function snapshot(kimg: number): Promise<GanSnapshot> {
    const chunk = Math.min(EMBED_CHUNK, cfg.batchGpu ?? EMBED_CHUNK); // no larger a pass than training's
    const grid = await imagesOf((from, to) => synthesize(slice(gridZ, 0, from, to)), cfg.gridImages, chunk);
    writePng(join(cfg.out, `fakes${kimg.toFixed(2).padStart(7, '0')}.png`), imageGrid(imagesFromNchw(grid, [cfg.gridImages, 1, reals.resolution, reals.resolution], [-1, 1]), { columns: 8, scale: 2 }));
    if (!measure) return { kimg };
    const realFeats = await embedAll(measure.features, (from, to) => reals.slice(from, to), reals.count, chunk);
    // The same fakes' latents at every snapshot: FD then tracks the generator, not the sample.
    const fdZ = new Generator(deriveSeed(cfg.seed, 17));
    const fakeFeats = await embedAll(measure.features, (from, to) => synthesize(randn([to - from, cfg.zDim], fdZ)), cfg.fdImages, chunk);
    const d = measure.distance(realFeats.data, fakeFeats.data, realFeats.dim);
    return { kimg, fd: d.fd, kid: d.kid };
  }

  function synthesize(z: Tensor): Tensor {
    return noGrad(() => G_ema.forward(z, { noiseMode: 'const' }));
  }
}

const count = (m: Module) => m.parameters().reduce((s, p) => s + p.size, 0).toLocaleString('en');
