#!/usr/bin/env node
// Fused vs unfused soft Dice + soft CE (SRA-Seg eq. 12–14) at the published self-training shape
// (12 × 4 classes × 256², forward + backward from logits): median ms and the pool's peak memory
// during one evaluation of each. Usage: node bench/losses.js [--batch 12] [--size 256]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';
import { timeMedian } from './harness.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  batch: { type: 'number', default: 12, help: 'images' },
  size: { type: 'number', default: 256, help: 'image side' },
  classes: { type: 'number', default: 4, help: 'classes' },
}, 'usage: node bench/losses.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const shape = [args.batch, args.classes, args.size, args.size];
const logits = E.keep(E.randn(shape));
logits.requiresGrad = true;
const target = E.keep(E.softmax(E.randn(shape), 1));

for (const [name, loss] of [
  ['fused (one forward kernel pair, one backward kernel)', E.softSegLoss],
  ['unfused (softmax, clamp, mul, sum, log … as separate ops)', E.softSegLossComposed],
]) {
  const step = () =>
    E.tidy(() => {
      E.backward(loss(logits, target).loss);
      logits.grad.dispose();
      logits.grad = null;
    });
  const ms = await timeMedian(step, () => E.sync(), { warmup: 1, minRuns: 5, minMs: 0, maxRuns: 5 });
  E.runtime().pool.resetPeak();
  const before = E.memoryStats().liveBytes;
  step();
  await E.sync();
  const peak = (E.memoryStats().peakLiveBytes - before) / 2 ** 20;
  console.log(`${name}: ${ms.toFixed(1)} ms forward+backward, ${peak.toFixed(1)} MiB above the inputs at peak`);
}
logits.dispose();
target.dispose();
await E.shutdown();
