// Kernel speed of this build against another build, paired in one process: both bundles are loaded,
// each gets its own device, and every case of bench/cases/*.js runs alternately on the two. What is
// compared is the CPU time each run takes (process.cpuUsage: all threads, llvmpipe's included, up to
// the sync), so on a software adapter other jobs sharing the cores change it far less than wall time.
// The figure is the median of the per-pair ratios; the same build against a copy of itself gives
// 0.97–1.03 (1024³ matmul: 0.91–1.11) on a loaded 2-core machine.
// Usage: node bench/compare-builds.js <other checkout, built> [pairs=10] [name-substring…]
import { readdirSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [other, pairs = '10', ...filters] = process.argv.slice(2);
if (!other) {
  console.error('usage: node bench/compare-builds.js <other checkout, built> [pairs=10] [name-substring…]');
  process.exit(1);
}
const A = await import(resolve(other, 'dist/index.js'));
const B = await import(join(here, '../dist/index.js'));
await A.init({ quiet: true });
await B.init({ quiet: true });
const cases = [];
for (const f of readdirSync(join(here, 'cases')).filter((f) => f.endsWith('.js')).sort()) {
  cases.push(...(await import(join(here, 'cases', f))).default);
}
const cpuMs = async (E, c, s) => {
  const t0 = process.cpuUsage();
  c.run(E, s);
  await E.sync();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${'case'.padEnd(58)}  other ms  this ms  this/other`);
for (const c of cases.filter((c) => !filters.length || filters.some((f) => c.name.includes(f)))) {
  const sa = await c.setup(A);
  const sb = await c.setup(B);
  for (let i = 0; i < 2; i++) {
    await cpuMs(A, c, sa);
    await cpuMs(B, c, sb);
  }
  const ta = [];
  const tb = [];
  const ratios = [];
  for (let i = 0; i < Number(pairs); i++) {
    const a = await cpuMs(A, c, sa);
    const b = await cpuMs(B, c, sb);
    ta.push(a);
    tb.push(b);
    ratios.push(b / a);
  }
  c.teardown?.(A, sa);
  c.teardown?.(B, sb);
  console.log(`${c.name.padEnd(58)}  ${median(ta).toFixed(1).padStart(8)}  ${median(tb).toFixed(1).padStart(7)}  ${median(ratios).toFixed(3).padStart(10)}`);
}
await A.shutdown();
await B.shutdown();
process.exit(0);
