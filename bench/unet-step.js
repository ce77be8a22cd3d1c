#!/usr/bin/env node
// One training step of the SSL4MIS/BCP UNet (forward, backward, SGD) at 1×256×256 per image:
// median ms per step and peak GPU memory held by the engine's pool, at the batch sizes given.
// Usage: node bench/unet-step.js [--batch 4,24] [--size 256] [--steps N] [--profile]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';
import { timeMedian } from './harness.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  batch: { type: 'string', default: '4,24', help: 'comma-separated batch sizes' },
  size: { type: 'number', default: 256, help: 'image side' },
  steps: { type: 'number', default: 5, help: 'timed steps per batch size (median reported)' },
  profile: { type: 'boolean', default: false, help: 'print per-kernel timings of one step' },
}, 'usage: node bench/unet-step.js [options]');

if (args.profile) E.enableProfiling();
const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const model = new E.UNet({ numClasses: 4 });
const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
const S = args.size;

for (const B of String(args.batch).split(',').map(Number)) {
  const x = E.keep(E.rand([B, 1, S, S]));
  const labels = new Int32Array(B * S * S).map((_, i) => (i * 7919) % 4);
  const y = E.keep(E.tensor(labels, [B, S, S], 'i32'));
  const step = () =>
    E.tidy(() => {
      const loss = E.supervisedSegLoss(model.forward(x), y);
      E.backward(loss);
      opt.step();
      opt.zeroGrad();
    });
  E.runtime().pool.resetPeak();
  try {
    const ms = await timeMedian(step, () => E.sync(), { warmup: 1, minRuns: args.steps, minMs: 0, maxRuns: args.steps });
    const peak = E.memoryStats().peakLiveBytes / 2 ** 20;
    console.log(`batch ${String(B).padStart(3)} × 1×${S}×${S}: ${ms.toFixed(1)} ms/step (median of ${args.steps}) · peak pool memory ${peak.toFixed(0)} MiB`);
  } catch (e) {
    console.log(`batch ${B}: failed: ${e.message}`);
  }
  if (args.profile) {
    E.runtime().profiler.reset();
    step();
    console.log(E.formatTimings(await E.runtime().profiler.report()));
  }
  x.dispose();
  y.dispose();
}
opt.dispose();
model.dispose();
await E.shutdown();
