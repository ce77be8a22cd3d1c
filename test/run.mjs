// Runs every built test file (dist/test/*.test.js) in one process with uvu, so all share one GPU
// device, then destroys the device and prints the closing line 'N passed, N failed, N skipped'.
// Usage: node test/run.mjs [substring…]  (only files whose name contains one of the substrings)
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { run } from 'uvu/run';

const dist = process.env.DIST ?? 'dist';
const filters = process.argv.slice(2);
const files = readdirSync(`${dist}/test`)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => !filters.length || filters.some((s) => f.includes(s)))
  .sort();

// uvu prints 'Total: N / Passed: N / Skipped: N'; capture them for our closing line.
let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  captured += String(chunk);
  if (captured.length > 1e6) captured = captured.slice(-1e5);
  return write(chunk, ...rest);
};

const engine = await import(resolve(dist, 'index.js'));
await engine.init();
// Strict ownership in every test: a tensor created outside every scope throws (test/harness.ts).
engine.setStrictOwnership(true);
const started = Date.now();
await run(files.map((f) => ({ name: f, file: resolve(dist, 'test', f) })), { bail: false });
await engine.shutdown();

// eslint-disable-next-line no-control-regex
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
// uvu's Total counts the tests that ran; skipped ones are not in it.
const failed = Math.max(0, total - passed);
process.stdout.write = write;
console.log(`\n${(Date.now() - started) / 1000}s for ${files.length} test files`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || process.exitCode ? 1 : 0;
