// Kernel microbenchmarks: each case in bench/cases/*.js on this engine, and the same op on
// @tensorflow/tfjs-backend-webgpu on the same adapter where the case defines `tfjs`.
// Usage: node bench/kernels.js [name-substring…] [--no-tfjs] [--json out.json] [--min-ms 1500]
// (--min-ms: time each case for at least this long, median reported; scripts/gpu-check.sh uses 500.)
// SRASEG_F16=1 stages the GEMMs of the GPU kernels in f16 (kernels/variant.ts; none runs inside a
// backward pass here); the heading and the JSON say which staging ran.
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { bar, fmtRate, timeMedian } from './harness.js';
import { loadTfjs } from './tfjs.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const noTfjs = args.includes('--no-tfjs');
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : null;
const minAt = args.indexOf('--min-ms');
const minMs = minAt >= 0 ? Number(args[minAt + 1]) : 1500;
if (!(minMs >= 0)) throw new Error(`--min-ms needs a number of milliseconds, got '${args[minAt + 1]}'`);
const filters = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1) && (minAt < 0 || i !== minAt + 1));

const E = await import('../dist/index.js');
// A setting that cannot take effect here (SRASEG_F16=1 without shader-f16, …): one line, exit 2.
const rt = await E.init().catch((e) => {
  if (!(e instanceof E.InputError)) throw e;
  console.error(`bench/kernels.js: ${e.message}`);
  process.exit(2);
});
const staging = E.kernelApi.gpuKernels() && E.kernelApi.f16Staging() ? 'f16' : 'f32';
const cases = [];
for (const f of readdirSync(join(here, 'cases')).filter((f) => f.endsWith('.js')).sort()) {
  cases.push(...(await import(join(here, 'cases', f))).default);
}
const chosen = cases.filter((c) => !filters.length || filters.some((s) => c.name.includes(s)));
const tfjs = noTfjs || !chosen.some((c) => c.tfjs) ? null : await loadTfjs(rt.ctx.backend).catch((e) => (console.error(`tfjs unavailable: ${e.message}`), null));

console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend}) · ${E.kernelApi.gpuKernels() ? 'GPU' : 'software'} kernels, GEMM staging ${staging}`);
const rows = [];
for (const [i, c] of chosen.entries()) {
  bar(i, chosen.length, c.name);
  const state = await c.setup(E);
  const ms = await timeMedian(() => c.run(E, state), () => E.sync(), { minMs });
  c.teardown?.(E, state);
  let tfMs = null;
  if (tfjs && c.tfjs) {
    const s = await c.tfjs.setup(tfjs.tf);
    tfMs = await timeMedian(() => tfjs.tf.tidy(() => c.tfjs.run(tfjs.tf, s)), tfjs.sync, { minMs });
    c.tfjs.teardown?.(tfjs.tf, s);
  }
  rows.push({ name: c.name, ms, rate: fmtRate(c, ms), tfMs, tfRate: tfMs ? fmtRate(c, tfMs) : '', ratio: tfMs ? tfMs / ms : null });
}
bar(chosen.length, chosen.length);
const w = Math.max(...rows.map((r) => r.name.length), 10);
console.log(`${'kernel'.padEnd(w)}  ${'ms'.padStart(9)}  ${'rate'.padStart(16)}  ${'tfjs ms'.padStart(9)}  ${'tfjs rate'.padStart(16)}  vs tfjs`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(w)}  ${r.ms.toFixed(2).padStart(9)}  ${r.rate.padStart(16)}  ${(r.tfMs?.toFixed(2) ?? '–').padStart(9)}  ` +
      `${r.tfRate.padStart(16)}  ${r.ratio ? r.ratio.toFixed(2) + '×' : '–'}`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ adapter: rt.ctx.description, backend: rt.ctx.backend, staging, rows }, null, 2));
await E.shutdown();
process.exit(0);
