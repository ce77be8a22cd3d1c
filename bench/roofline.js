#!/usr/bin/env node
// The physical floor of a step: every kernel launch of one UNet training step (batch 24 × 1×256²,
// 4 classes, the trainer's step: forward, loss, backward, SGD, divergence watch) and one DINOv2
// ViT-B/14 forward (batch 12 × 3×224²) and one StyleGAN2-ADA minibatch (16 × 256², one pass), each
// with its FLOPs and compulsory bytes, and the time it would take at an H200's fp32 peak and HBM
// bandwidth: max(FLOPs / peak, bytes / bandwidth).
//
// How it counts: a dry run at the full shape (CommandQueue.dryRun): the real engine code runs on the
// host — modules, autograd, the optimiser — and every kernel launch reports itself to the dispatch
// observer (kernels/common.ts `run`) with its key, uniforms and operands; nothing is compiled,
// executed, written or read, and new pool buffers are 256-byte placeholders (BufferPool.dryRun). bench/roofline-costs.js turns each report into FLOPs and bytes.
//
// H200 figures (NVIDIA H200 Tensor Core GPU datasheet, SXM): FP32 67 TFLOP/s (CUDA cores, no tensor
// cores; TF32 tensor cores would be 494 dense), HBM3e 4.8 TB/s. Override with --peak-tflops and
// --bandwidth-tbs.
// Usage: node bench/roofline.js [--kernels gpu|software] [--batch 24] [--size 256] [--vit-batch 12] [--vit-size 224] [--gan-batch 16] [--gan-resolution 256] [--top 15] [--json out.json]
import { writeFileSync } from 'node:fs';
import { bytesOf, flopsOf } from './roofline-costs.js';

const dist = process.env.DIST ?? 'dist';
const E = await import(`../${dist}/index.js`);
const { parseArgsOrExit } = await import(`../${dist}/cli/index.js`);
const args = parseArgsOrExit(process.argv.slice(2), {
  batch: { type: 'number', default: 24, help: 'UNet batch (0: skip)' },
  size: { type: 'number', default: 256, help: 'UNet image side' },
  classes: { type: 'number', default: 4, help: 'UNet classes' },
  'vit-batch': { type: 'number', default: 12, help: 'ViT-B/14 batch (0: skip)' },
  'vit-size': { type: 'number', default: 224, help: 'ViT image side (a multiple of 14)' },
  'gan-batch': { type: 'number', default: 16, help: "StyleGAN2-ADA minibatch, in one pass ('auto' at 256²: 16; 0: skip)" },
  'gan-resolution': { type: 'number', default: 256, help: 'StyleGAN2-ADA resolution' },
  'peak-tflops': { type: 'number', default: 67, help: 'fp32 peak, TFLOP/s (H200 SXM, no tensor cores)' },
  'bandwidth-tbs': { type: 'number', default: 4.8, help: 'memory bandwidth, TB/s (H200 HBM3e)' },
  kernels: { type: 'string', default: 'gpu', choices: ['gpu', 'software'], help: "which kernel variants to count (kernels/variant.ts): 'gpu', what an H200 runs, or 'software', llvmpipe's" },
  top: { type: 'number', default: 15, help: 'kernels listed per workload' },
  json: { type: 'string', default: '', help: 'write every launch and the totals to this file' },
}, 'usage: node bench/roofline.js [options]');

const peak = args['peak-tflops'] * 1e12;
const bandwidth = args['bandwidth-tbs'] * 1e12;
const rt = await E.init();
// Count the kernels the modelled GPU would run, whatever adapter this process has.
E.kernelApi.setGpuKernels(args.kernels === 'gpu');

/**
 * Run `body` dry (E.dryRun), collecting every launch with its cost. `bufferLimit`: the largest buffer
 * the pool hands out meanwhile (a GPU's bindings, for shapes llvmpipe's 128 MiB would refuse).
 */
async function count(body, bufferLimit) {
  const launches = [];
  await E.dryRun(
    body,
    (d) => {
      const flops = flopsOf(d);
      const bytes = bytesOf(d);
      launches.push({ key: d.key, op: d.op, grid: d.grid, flops, bytes, computeS: flops / peak, memoryS: bytes / bandwidth });
    },
    bufferLimit,
  );
  for (const l of launches) l.floorS = Math.max(l.computeS, l.memoryS);
  return launches;
}

function summarise(name, launches) {
  const sum = (k) => launches.reduce((a, l) => a + l[k], 0);
  const totals = { launches: launches.length, flops: sum('flops'), bytes: sum('bytes'), computeS: sum('computeS'), memoryS: sum('memoryS'), floorS: sum('floorS') };
  // Group by kernel key and op for the table.
  const groups = new Map();
  for (const l of launches) {
    const k = `${l.key} (${l.op})`;
    const g = groups.get(k) ?? { kernel: k, launches: 0, flops: 0, bytes: 0, floorS: 0, bound: { compute: 0, memory: 0 } };
    g.launches++;
    g.flops += l.flops;
    g.bytes += l.bytes;
    g.floorS += l.floorS;
    g.bound[l.computeS >= l.memoryS ? 'compute' : 'memory']++;
    groups.set(k, g);
  }
  const rows = [...groups.values()].sort((a, b) => b.floorS - a.floorS);
  const ms = (s) => (s * 1e3).toFixed(3).padStart(9);
  console.log(`\n${name}: ${totals.launches} launches, ${(totals.flops / 1e9).toFixed(1)} GFLOP, ${(totals.bytes / 1e9).toFixed(2)} GB moved at least`);
  console.log(`  floor: ${ms(totals.floorS)} ms (Σ per launch of max(compute, memory)); compute alone ${ms(totals.computeS)} ms, memory alone ${ms(totals.memoryS)} ms`);
  console.log(`  ${'kernel (op)'.padEnd(64)} ${'n'.padStart(4)} ${'GFLOP'.padStart(9)} ${'MB'.padStart(9)} ${'floor ms'.padStart(9)} ${'share'.padStart(6)}  bound`);
  for (const r of rows.slice(0, args.top)) {
    const bound = r.bound.compute && r.bound.memory ? 'mixed' : r.bound.compute ? 'compute' : 'memory';
    console.log(
      `  ${r.kernel.slice(0, 64).padEnd(64)} ${String(r.launches).padStart(4)} ${(r.flops / 1e9).toFixed(2).padStart(9)} ${(r.bytes / 1e6).toFixed(1).padStart(9)} ${ms(r.floorS)} ${((100 * r.floorS) / totals.floorS).toFixed(1).padStart(5)}%  ${bound}`,
    );
  }
  if (rows.length > args.top) console.log(`  … ${rows.length - args.top} more kernels (--top, --json)`);
  return { name, totals, kernels: rows, launches };
}

console.log(`roofline: a dry run at full shape (nothing executes; every launch reports its geometry) on ${rt.ctx.description || rt.ctx.backend}`);
console.log(`device model: fp32 ${args['peak-tflops']} TFLOP/s, ${args['bandwidth-tbs']} TB/s (H200 SXM datasheet; CUDA-core fp32, no tensor cores)`);
const results = [];

if (args.batch > 0) {
  const B = args.batch;
  const S = args.size;
  const model = new E.UNet({ numClasses: args.classes });
  const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const watch = new E.DivergenceWatch();
  watch.observe(opt);
  const images = E.keep(E.zeros([B, 1, S, S]));
  const labels = E.keep(E.zeros([B, S, S], 'i32'));
  const launches = await count(() =>
    E.tidy(() => {
      watch.iteration = 1;
      const loss = E.supervisedSegLoss(model.forward(images), labels);
      watch.term('loss', loss);
      E.backward(loss);
      opt.step();
      opt.zeroGrad();
    }),
  );
  results.push(summarise(`UNet training step, batch ${B} × 1×${S}², ${args.classes} classes (SGD momentum, divergence watch)`, launches));
  images.dispose();
  labels.dispose();
  watch.dispose();
  opt.dispose();
  model.dispose();
}

if (args['vit-batch'] > 0) {
  const B = args['vit-batch'];
  const S = args['vit-size'];
  const model = new E.Dinov2(E.DINOV2_CONFIGS.vitb14).eval().freeze();
  const x = E.keep(E.zeros([B, 3, S, S]));
  const launches = await count(() => E.noGrad(() => E.tidy(() => void model.forward(x))));
  results.push(summarise(`DINOv2 ViT-B/14 forward, batch ${B} × 3×${S}²`, launches));
  x.dispose();
  model.dispose();
}

if (args['gan-batch'] > 0) {
  // One StyleGAN2-ADA minibatch in one pass ('auto' networks, ADA's pipe at p = 0.5 on every pass
  // through D): Gmain, Dmain and R1 (lazy interval 1), each with its Adam step. The path-length pass
  // is left out: it reads its lengths back mid-phase, which a dry run cannot.
  const B = args['gan-batch'];
  const R = args['gan-resolution'];
  const cfg = { ...E.STYLEGAN_TRAIN_DEFAULTS, out: '', resume: false, batch: B, r1Interval: 1, augment: 'fixed', augmentP: 0.5 };
  const reals = E.RealImageSet.fromDataset(new E.PhantomDataset({ seed: 1, size: R, trainSlices: B + 4, labeledSlices: B, valVolumes: 1 }), R, 0);
  const { G, D, G_ema, augment } = E.buildStyleGanNetworks(cfg, R);
  const adam = (m) => new E.Adam(m.parameters(), { lr: 0.0025, betas: [0, 0.99], eps: 1e-8 });
  const [optG, optD] = [adam(G), adam(D)];
  const loss = new E.StyleGAN2Loss(G, D, augment, cfg, new E.Generator(1), new E.SeededRng(2));
  const phases = new E.StyleGanPhases({ cfg, G, D, G_ema, optG, optD, loss, augment, ada: null, reals });
  const trainable = (m, on) => m.parameters().forEach((p) => (p.requiresGrad = on));
  const launches = await count(
    () =>
      E.tidy(() => {
        const logs = {};
        trainable(D, false);
        phases.generatorMain(logs);
        trainable(D, true);
        trainable(G, false);
        const real = phases.rounds(reals.next(B));
        phases.discriminatorMain(real, logs);
        phases.discriminatorRegularisation(real, logs);
        trainable(G, true);
      }),
    2 ** 31, // a GPU's bindings: one pass at this shape needs buffers above llvmpipe's 128 MiB
  );
  results.push(summarise(`StyleGAN2-ADA 'auto' minibatch, ${B} × 1×${R}² in one pass (Gmain, Dmain, R1; ADA p 0.5)`, launches));
  for (const m of [G, D, G_ema]) m.dispose();
  optG.dispose();
  optD.dispose();
}

if (args.json) {
  const device = { peakTflops: args['peak-tflops'], bandwidthTBs: args['bandwidth-tbs'], source: 'NVIDIA H200 datasheet (SXM): FP32 67 TFLOPS, 4.8 TB/s' };
  writeFileSync(args.json, JSON.stringify({ method: 'dry run at full shape; costs from each launch (bench/roofline-costs.js)', device, workloads: results }, null, 1));
  console.log(`\nwrote ${args.json}`);
}
await E.shutdown();
