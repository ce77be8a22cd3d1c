#!/usr/bin/env node
// Host (CPU) time of recording one UNet training step — the floor under any GPU step time.
//
// The step is the supervised trainer's (src/train/supervised.ts + the divergence watch of
// src/train/stage.ts): upload a batch, forward, loss, backward, optimiser step, zero the gradients,
// submit. What is timed is the JavaScript of that step *excluding* the time spent inside
// `GPUQueue.submit` and `GPUQueue.writeBuffer` — where a backend runs or copies the work (Dawn→OpenGL
// executes the recorded commands inside submit) — so the figure is the encode time: kernel modules,
// autograd, the pool, bind groups, uniforms and the command encoder. The GPU sync after each step is
// not timed. On Dawn's null backend (`SRASEG_BACKEND=null`: no execution at all, 512 MiB of memory,
// so batch 1 at 256²) submit costs next to nothing and the two measures agree.
//
// Two clocks: wall time (performance.now) and the process's CPU time (process.cpuUsage), each minus
// its share inside submit/writeBuffer. On the null backend the CPU time is the robust one on a loaded
// machine (waiting for a core does not count); on Dawn→OpenGL it also counts llvmpipe's threads
// running earlier batches, so read the wall time there.
// Also counted per step: dispatches, bind groups created (device.createBindGroup is wrapped here, so
// this works on any build of the engine), submits.
// Usage: node bench/host-time.js [--batch 4,24] [--size 256] [--steps 5] [--warmup 2] [--no-watch]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  batch: { type: 'string', default: '4,24', help: 'comma-separated batch sizes' },
  size: { type: 'number', default: 256, help: 'image side' },
  steps: { type: 'number', default: 5, help: 'timed steps per batch size (median reported)' },
  warmup: { type: 'number', default: 2, help: 'untimed steps first (pipelines compile, caches fill)' },
  watch: { type: 'boolean', default: true, help: "the trainer's divergence watch on the loss, gradients and weights (--no-watch: off)" },
}, 'usage: node bench/host-time.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description || '(none)'} (backend ${rt.ctx.backend})`);

// Wrap the device's entry points that cost or do GPU work, to count and to exclude them.
const device = rt.device;
const queue = device.queue;
const counts = { bindGroups: 0, bindGroupMs: 0, excludedMs: 0, excludedCpuMs: 0 };
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const wrap = (obj, name, after) => {
  const orig = obj[name];
  obj[name] = function (...a) {
    const t0 = performance.now();
    const c0 = cpuMs();
    try {
      return orig.apply(this, a);
    } finally {
      after(performance.now() - t0, cpuMs() - c0);
    }
  };
};
wrap(device, 'createBindGroup', (ms) => {
  counts.bindGroups++;
  counts.bindGroupMs += ms;
});
const exclude = (ms, cpu) => {
  counts.excludedMs += ms;
  counts.excludedCpuMs += cpu;
};
wrap(queue, 'submit', exclude);
wrap(queue, 'writeBuffer', exclude);

const model = new E.UNet({ numClasses: 4 });
const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
const watch = args.watch ? new E.DivergenceWatch() : null;
if (watch) watch.observe(opt);
const S = args.size;
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

for (const B of String(args.batch).split(',').map(Number)) {
  const images = new Float32Array(B * S * S).map((_, i) => Math.sin(i * 0.37));
  const labels = new Int32Array(B * S * S).map((_, i) => (i * 7919) % 4);
  let iteration = 0;
  const step = () =>
    E.tidy(() => {
      if (watch) watch.iteration = ++iteration;
      const loss = E.supervisedSegLoss(model.forward(E.tensor(images, [B, 1, S, S])), E.tensor(labels, [B, S, S], 'i32'));
      if (watch) watch.term('loss', loss);
      E.backward(loss);
      opt.step();
      opt.zeroGrad();
    });
  const rows = [];
  try {
    for (let k = 0; k < args.warmup + args.steps; k++) {
      const before = { ...counts, ...E.memoryStats() };
      const t0 = performance.now();
      const c0 = cpuMs();
      step();
      E.flush();
      const wall = performance.now() - t0;
      const cpu = cpuMs() - c0;
      const after = E.memoryStats();
      rows.push({
        hostMs: wall - (counts.excludedMs - before.excludedMs),
        cpuMs: cpu - (counts.excludedCpuMs - before.excludedCpuMs),
        bindGroupMs: counts.bindGroupMs - before.bindGroupMs,
        bindGroups: counts.bindGroups - before.bindGroups,
        dispatches: after.dispatches - before.dispatches,
        submits: after.submits - before.submits,
      });
      await E.sync();
    }
  } catch (e) {
    console.log(`batch ${B}: failed: ${e.message}`);
    continue;
  }
  const timed = rows.slice(args.warmup);
  const m = (k) => median(timed.map((r) => r[k]));
  console.log(
    `batch ${String(B).padStart(3)} × 1×${S}×${S}: host ${m('hostMs').toFixed(2)} ms/step, process CPU ${m('cpuMs').toFixed(2)} ms (median of ${timed.length}; ` +
      `createBindGroup ${m('bindGroupMs').toFixed(2)} ms) · ${m('dispatches')} dispatches · ${m('bindGroups')} bind groups created · ${m('submits')} submits` +
      ` · first step: ${rows[0].dispatches} dispatches, ${rows[0].bindGroups} bind groups`,
  );
}
watch?.dispose();
opt.dispose();
model.dispose();
await E.shutdown();
