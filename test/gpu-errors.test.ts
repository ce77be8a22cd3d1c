// Fail fast on WebGPU errors (src/engine/gpu/gpu-errors.ts): a validation error becomes a GpuError
// thrown by the engine call that made it (or the next one), naming the kernel dispatched last; the
// device stays usable afterwards. Two invalid launches of a small test kernel: a binding at an
// unaligned offset (refused when its bind group is created, at the dispatch) and a grid larger than
// the device allows (refused when the command encoder is finished, at the flush).
//
// Mistakes these catch (each made once by hand): the queue not checking for a pending error (the
// launch would return normally and the results be garbage), the watch not recording the kernel
// (the message would not name it), an error left pending after it was thrown (the next, valid,
// call would throw too).
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';
import { GpuError, GpuErrorWatch } from '../src/engine/gpu/gpu-errors.js';

const { kernel, run, uniforms, grid1d } = E.kernelApi;
const PARAMS = uniforms('Params', { n: 'u32' });
const COPY = kernel('testErrors:copy', PARAMS, 64, () => ({
  body: `
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = globalIndex(wid, nwg, lid);
  if (i >= P.n) { return; }
  Y[i] = X[i];
}`,
}));

function expectGpuError(f: () => void, what: string): E.GpuError {
  try {
    f();
  } catch (e) {
    assert.instance(e, E.GpuError, `${what}: a GpuError, got ${String(e)}`);
    return e as E.GpuError;
  }
  assert.unreachable(`${what}: no error was thrown`);
  throw new Error('unreachable');
}

test('a binding at an unaligned offset throws a GpuError naming the kernel, and the device stays usable', async () => {
  const x = randTensor([256], 1);
  const y = E.zeros([256]);
  run(COPY, [x.t, y], { n: 256 }, grid1d(256, 64)); // valid: compiles and caches
  assertClose(await read(y), x.v, 0, 0, 'valid copy');
  const err = expectGpuError(() => {
    run(COPY, [{ buffer: x.t.buffer(), offset: 4, size: 512 }, y], { n: 128 }, grid1d(128, 64), 'badOffset');
    E.flush();
  }, 'unaligned offset');
  assert.is(err.kernel, 'testErrors:copy');
  assert.match(err.message, /testErrors:copy/);
  assert.match(err.message, /badOffset/);
  // Thrown once: the next valid work runs and is right.
  const z = E.zeros([256]);
  run(COPY, [x.t, z], { n: 256 }, grid1d(256, 64));
  assertClose(await read(z), x.v, 0, 0, 'valid copy after the error');
});

test('a grid beyond maxComputeWorkgroupsPerDimension throws at the flush, naming the kernel', async () => {
  const x = randTensor([64], 2);
  const y = E.zeros([64]);
  await E.sync();
  const max = E.runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  const err = expectGpuError(() => {
    run(COPY, [x.t, y], { n: 64 }, [max + 1, 1, 1], 'hugeGrid');
    E.flush();
  }, 'oversized grid');
  assert.match(err.message, /testErrors:copy/);
  assert.match(err.message, /validation/);
  const z = E.zeros([64]);
  run(COPY, [x.t, z], { n: 64 }, grid1d(64, 64));
  assertClose(await read(z), x.v, 0, 0, 'valid copy after the error');
});

// Device loss cannot be provoked on a real adapter from a test (destroy() is the deliberate kind,
// which must NOT raise), so the watch is driven by a stand-in device: an EventTarget with a `lost`
// promise. Catches: a lost device reported once and then forgotten (later calls would run on a dead
// device), the deliberate destroy() raised as a loss, the loss not naming the kernel dispatched last.
test('device loss: every later engine call raises it, naming the last kernel; a deliberate destroy() does not', async () => {
  const device = (reason: string) => {
    let lose!: (info: { reason: string; message: string }) => void;
    const d = Object.assign(new EventTarget(), { lost: new Promise<{ reason: string; message: string }>((r) => (lose = r)) });
    return { d: d as unknown as GPUDevice, lose: () => lose({ reason, message: 'the GPU stopped responding' }) };
  };
  const lostOne = device('unknown');
  const watch = new GpuErrorWatch();
  watch.attach(lostOne.d);
  watch.lastKernel = 'conv2d:gemm:forward:3x3';
  watch.lastOp = 'conv2d';
  watch.check(); // nothing yet
  lostOne.lose();
  await new Promise((r) => setTimeout(r, 0));
  for (let call = 0; call < 2; call++) {
    try {
      watch.check();
      assert.unreachable('a lost device must raise');
    } catch (e) {
      assert.instance(e, GpuError);
      assert.is((e as GpuError).kind, 'device-lost');
      assert.match((e as Error).message, /conv2d:gemm:forward:3x3.*device was lost \(unknown\)/);
    }
  }
  watch.clear(); // clearing a validation error does not revive a lost device
  assert.throws(() => watch.check(), /device was lost/);

  const destroyed = device('destroyed');
  const calm = new GpuErrorWatch();
  calm.attach(destroyed.d);
  destroyed.lose();
  await new Promise((r) => setTimeout(r, 0));
  calm.check();
  assert.not.ok(calm.hasPending(), 'destroy() is not a loss');
});

test.run();
