// Runs every built test file (dist/test/*.test.js) in one process with uvu, so all share one GPU
// device, then destroys the device and prints the closing line 'N passed, N failed, N skipped'.
// Usage: node test/run.mjs [--gpu-kernels-pass] [substring…]  (only files whose name contains one of
// the substrings)
// Every file the tests write lands under one scratch folder (TMPDIR, for this process and the
// commands it spawns), removed when the run ends however it ends: left behind, training tests' run
// folders once filled the disk that a CI run shared.
// --gpu-kernels-pass (npm test, CI): afterwards, the files in GPU_KERNEL_FILES run again in a second
// process with SRASEG_GPU_KERNELS=1, so that the GPU-shaped kernels (kernels/variant.ts) execute on
// every commit whatever the adapter; the closing line then counts both passes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from 'uvu/run';

const scratch = mkdtempSync(join(tmpdir(), 'sraseg-test-run-'));
process.env.TMPDIR = scratch; // os.tmpdir() reads it at each call
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(128 + constants.signals[signal]));

/**
 * The kernel, layer and model tests whose ops have GPU-shaped variants (conv2d, matmul/linear,
 * attention), chosen to run a second time in a minute or so: the models that are built from them
 * (UNet, ViT/DINOv2, StyleGAN2), the PyTorch goldens of the layers, and the kernels' own tests.
 * Training tests are left out: they call the same kernels at more cost. test/gpu-kernels.test.js forces
 * the variants itself and runs in the first pass.
 */
const GPU_KERNEL_FILES = [
  'attention.test.js',
  'conv2d.test.js',
  'matmul.test.js',
  'modulated-conv.test.js',
  'upfirdn2d.test.js',
  'golden.test.js',
  'unet.test.js',
  'vit.test.js',
  'dinov2-reg.test.js',
  'stylegan2.test.js',
];

const dist = process.env.DIST ?? 'dist';
const args = process.argv.slice(2);
const gpuPass = args.includes('--gpu-kernels-pass');
const filters = args.filter((a) => a !== '--gpu-kernels-pass');
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
try {
  engine.kernelApi.gpuKernelsFromEnv(); // a bad SRASEG_GPU_KERNELS or SRASEG_F16: one line, before any test
  engine.kernelApi.f16StagingFromEnv();
} catch (e) {
  console.error(`test/run.mjs: ${e.message}`);
  process.exit(2);
}
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
let counts = { passed, failed, skipped };
const again = files.filter((f) => GPU_KERNEL_FILES.includes(f));
if (gpuPass && again.length && process.env.SRASEG_GPU_KERNELS !== '1') {
  console.log(`first pass: passed ${passed}, failed ${failed}, skipped ${skipped}`);
  console.log(`\nSecond pass, SRASEG_GPU_KERNELS=1 (the GPU-shaped kernels): ${again.join(' ')}`);
  const second = await secondPass(again);
  counts = { passed: passed + second.passed, failed: failed + second.failed, skipped: skipped + second.skipped };
}
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 || process.exitCode ? 1 : 0;

/** Runs `names` in a child process with the GPU kernels forced, echoing its output; its counts. */
async function secondPass(names) {
  const child = spawn(process.execPath, [process.argv[1], ...names], {
    env: { ...process.env, SRASEG_GPU_KERNELS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (chunk) => {
    text += String(chunk);
    if (text.length > 1e5) text = text.slice(-1e4);
    process.stdout.write(chunk);
  });
  const code = await new Promise((done) => child.on('close', done));
  const line = text.match(/(\d+) passed, (\d+) failed, (\d+) skipped\s*$/);
  // A child that died before its closing line counts as one failure.
  if (!line) return { passed: 0, failed: 1, skipped: 0 };
  const [p, f, s] = line.slice(1).map(Number);
  return { passed: p, failed: f + (code !== 0 && f === 0 ? 1 : 0), skipped: s };
}
