// StyleGAN2-ADA at the published shape (256², a minibatch of 16) in one pass, as a GPU will run it
// (scripts/gpu-check.sh's soak-stylegan step), checked here without a GPU: a dry run (nothing compiled
// or executed, buffers are placeholders; bench/roofline.js's mechanism) with the pool's limit raised
// to a GPU's, so every launch of Gmain, the path-length pass up to its read-back, Dmain, R1 and the
// snapshot's G_ema synthesis is recorded with its grid. On llvmpipe these launches never run in one
// pass (128 MiB bindings: the trainer's rounds), so a grid beyond WebGPU's 65,535 workgroups per
// dimension would first show on a GPU as a validation error; here it fails on every commit, for the
// GPU-shaped and the software-shaped kernels. (llvmpipe's loop-budget splits still apply in the dry
// run; they only ever add workgroups, so the check is the stricter for it.)
// Catches: a kernel whose grid grows with the batch or the image without folding into y (grid1d).
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

const R = 256;
const MINIBATCH = 16;

async function launchesOfOneMinibatch(gpuKernels: boolean): Promise<{ launches: number; beyond: string[] }> {
  const maxDim = E.runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  const cfg = { ...E.STYLEGAN_TRAIN_DEFAULTS, out: '/unused', resume: false, batch: MINIBATCH, r1Interval: 1, plInterval: 1, plWeight: 2, augment: 'fixed' as const, augmentP: 0.5 };
  const reals = E.RealImageSet.fromDataset(new E.PhantomDataset({ seed: 1, size: R, trainSlices: 20, labeledSlices: MINIBATCH, valVolumes: 1 }), R, 0);
  const { G, D, G_ema, augment } = E.buildStyleGanNetworks(cfg, R);
  const adam = (m: E.Module) => new E.Adam(m.parameters(), { lr: 0.002, betas: [0, 0.99], eps: 1e-8 });
  const [optG, optD] = [adam(G), adam(D)];
  const loss = new E.StyleGAN2Loss(G, D, augment, cfg, new E.Generator(1), new E.SeededRng(2));
  const phases = new E.StyleGanPhases({ cfg, G, D, G_ema, optG, optD, loss, augment, ada: null, reals });
  const beyond = new Set<string>();
  let launches = 0;
  const observe = (d: E.DispatchRecord) => {
    launches++;
    if (d.grid.some((g) => g > maxDim || g < 1)) beyond.add(`${d.key} [${d.grid.join(', ')}]`);
  };
  E.kernelApi.setGpuKernels(gpuKernels);
  try {
    // A GPU's bindings (2 GiB): every tensor of the one-pass minibatch fits.
    await E.dryRun(
      () =>
        E.tidy(async () => {
          const logs: Record<string, E.Tensor> = {};
          for (const p of D.parameters()) p.requiresGrad = false;
          phases.generatorMain(logs);
          // The path-length pass reads its lengths back mid-phase: a dry run stops there, after its launches.
          const stopped = await phases.generatorRegularisation(logs).then(() => null, (e: Error) => e.message);
          assert.match(stopped ?? 'it finished', /read back during a dry run/);
          for (const p of D.parameters()) p.requiresGrad = true;
          for (const p of G.parameters()) p.requiresGrad = false;
          const real = phases.rounds(reals.next(MINIBATCH));
          assert.is(real.length, 1, 'one pass');
          phases.discriminatorMain(real, logs);
          phases.discriminatorRegularisation(real, logs);
          E.noGrad(() => G_ema.forward(E.randn([MINIBATCH, cfg.zDim]), { noiseMode: 'const' })); // a snapshot's pass
        }),
      observe,
      2 ** 31,
    );
  } finally {
    E.kernelApi.setGpuKernels(null);
    for (const m of [G, D, G_ema]) m.dispose();
    optG.dispose();
    optD.dispose();
  }
  return { launches, beyond: [...beyond] };
}

for (const gpuKernels of [true, false]) {
  test(`the published 256² × 16 minibatch in one pass launches only valid grids (${gpuKernels ? 'GPU' : 'software'} kernels)`, async () => {
    const { launches, beyond } = await launchesOfOneMinibatch(gpuKernels);
    assert.ok(launches > 2000, `every phase recorded (${launches} launches)`);
    assert.equal(beyond, [], 'grids beyond the per-dimension limit');
  });
}

test.run();
