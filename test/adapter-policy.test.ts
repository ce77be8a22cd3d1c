// Adapter policy for GPU runs (scripts/gpu-check.sh): SRASEG_REQUIRE_GPU=1 refuses a software adapter
// unless SRASEG_ALLOW_SOFTWARE=1, and scripts/probe-adapter.mjs --json reports the adapter the engine
// uses, with its limits and, where timestamps exist, unquantised timestamps.
// Mistakes these catch (each made once by hand): the refusal ignoring SRASEG_ALLOW_SOFTWARE; a real
// GPU refused; the probe exiting 0 on a refused software adapter; the probe reporting limits of
// another adapter than the engine's; DAWN_FLAGS emptied (timestamps back to multiples of 65,536 ns —
// checked where the adapter has timestamp-query: a GPU, or SRASEG_BACKEND=vulkan on lavapipe).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

test('softwareRefusal: only a CPU adapter, only with SRASEG_REQUIRE_GPU=1, lifted by SRASEG_ALLOW_SOFTWARE=1', () => {
  const why = E.softwareRefusal('llvmpipe (LLVM 15)', true, { SRASEG_REQUIRE_GPU: '1' });
  assert.ok(why && why.includes('llvmpipe (LLVM 15)') && why.includes('SRASEG_ALLOW_SOFTWARE=1'), String(why));
  assert.is(E.softwareRefusal('llvmpipe', true, {}), null, 'no refusal unless asked for');
  assert.is(E.softwareRefusal('llvmpipe', true, { SRASEG_REQUIRE_GPU: '1', SRASEG_ALLOW_SOFTWARE: '1' }), null);
  assert.is(E.softwareRefusal('NVIDIA H200', false, { SRASEG_REQUIRE_GPU: '1' }), null, 'a GPU is never refused');
  assert.ok(E.DAWN_FLAGS.includes('disable-dawn-features=timestamp_quantization'));
});

const probe = (env: Record<string, string>) =>
  spawnSync(process.execPath, [join(process.cwd(), 'scripts', 'probe-adapter.mjs'), '--json'], {
    env: { ...process.env, SRASEG_QUIET: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('probe-adapter --json: refuses a software adapter under SRASEG_REQUIRE_GPU=1, reports the engine adapter and its limits', () => {
  const ctx = E.runtime().ctx;
  const refused = probe({ SRASEG_REQUIRE_GPU: '1', SRASEG_ALLOW_SOFTWARE: '' });
  if (ctx.isCpu) {
    assert.is(refused.status, 1, 'a software adapter must fail the probe');
    assert.match(refused.stderr, /SRASEG_REQUIRE_GPU=1 but the only WebGPU adapter is a software one/);
  } else {
    assert.is(refused.status, 0, refused.stderr);
  }
  const run = probe({ SRASEG_REQUIRE_GPU: '1', SRASEG_ALLOW_SOFTWARE: '1' });
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.is(report.software, ctx.isCpu);
  assert.is(report.backend, ctx.backend);
  assert.is(report.deviceLimits.maxStorageBufferBindingSize, ctx.limits.maxStorageBufferBindingSize);
  assert.is(report.adapterLimits.maxComputeWorkgroupSizeX, ctx.adapter.limits.maxComputeWorkgroupSizeX);
  assert.ok(Object.keys(report.adapterLimits).length > 20, 'all limits, not a few');
  if (ctx.features.timestamps) {
    assert.is(report.timestamps.quantised, false, 'timestamps are multiples of 65,536 ns: the quantisation toggle was not applied');
    assert.ok(report.timestamps.maxPassNs > 0);
  } else {
    assert.is(report.timestamps, null);
  }
});

test.run();
