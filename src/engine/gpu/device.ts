// Adapter choice and the one device of the process.
//
// Order of preference: a real GPU; on a CPU-only machine Dawn→OpenGL on llvmpipe, which runs the same
// WGSL 1.6–2× faster than Dawn→Vulkan on lavapipe here (docs/BENCHMARKS.md), unless the caller needs a
// feature only Vulkan has (shader-f16, subgroups, timestamp-query). SRASEG_BACKEND forces one.
// Dawn's native start-up notices (no Vulkan loader, OpenGL limits reduced) are filtered out of stderr
// (native-stderr.ts); SRASEG_DEBUG=1 or SRASEG_VERBOSE_GPU=1 shows them.
// SRASEG_REQUIRE_GPU=1 refuses a software adapter (so a GPU benchmark never silently measures the
// CPU); SRASEG_ALLOW_SOFTWARE=1 lifts that again (dry runs of scripts/gpu-check.sh on a CPU machine).
import { create, globals } from 'webgpu';
import { InputError } from '../errors.js';
import { withNativeStderrFiltered } from './native-stderr.js';

// 'null' is Dawn's null backend: everything is validated, nothing runs (512 MiB of memory at most);
// bench/host-time.js measures the host's share of a step on it.
export type BackendName = 'vulkan' | 'opengl' | 'metal' | 'd3d12' | 'null' | 'default';

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  backend: BackendName;
  /** Human-readable adapter description, printed once at start. */
  description: string;
  /** True on a software rasteriser (llvmpipe / lavapipe / SwiftShader). */
  isCpu: boolean;
  features: { f16: boolean; subgroups: boolean; timestamps: boolean };
  limits: GPUSupportedLimits;
}

export interface InitOptions {
  /** Features a caller cannot run without; on a CPU-only machine they decide the backend. */
  requiredFeatures?: GPUFeatureName[];
  /** Print the chosen adapter (default true, once per process). */
  quiet?: boolean;
}

// Dawn aborts if the object returned by create() is garbage-collected while its device lives, so every
// instance made stays referenced here for the life of the process.
const liveInstances: GPU[] = [];
let context: GpuContext | null = null;
let pending: Promise<GpuContext> | null = null;
let exitHooked = false;
/** What Dawn printed while adapters were requested (filtered from stderr), for the no-adapter error. */
const dawnNotices: string[] = [];

Object.assign(globalThis, globals);

const CPU_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe/i;

// Dawn rounds timestamp-query results down to multiples of 65,536 ns by default (a browser's guard
// against timing attacks); per-kernel times of short dispatches would read 0 or 65 µs. Every instance
// gets the flag, which dawn.node passes on as an instance, adapter and device toggle.
export const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

/**
 * Why a software adapter must be refused, or null: with SRASEG_REQUIRE_GPU=1 and without
 * SRASEG_ALLOW_SOFTWARE=1 a CPU adapter (llvmpipe / lavapipe / SwiftShader) is an error.
 */
export function softwareRefusal(description: string, isCpu: boolean, env: Record<string, string | undefined> = process.env): string | null {
  if (!isCpu || env.SRASEG_REQUIRE_GPU !== '1' || env.SRASEG_ALLOW_SOFTWARE === '1') return null;
  return (
    `SRASEG_REQUIRE_GPU=1 but the only WebGPU adapter is a software one (${description}).\n` +
    `  Fix: make the GPU's Vulkan driver visible (VK_DRIVER_FILES=<its ICD json>, the loader libvulkan.so.1\n` +
    `  on the library path), or set SRASEG_ALLOW_SOFTWARE=1 to run on the CPU anyway.`
  );
}

function describe(info: GPUAdapterInfo): string {
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length);
  return parts.join(' ') || 'unknown adapter';
}

async function tryBackend(backend: BackendName, compat: boolean): Promise<GPUAdapter | null> {
  const flags = backend === 'default' ? [...DAWN_FLAGS] : [`backend=${backend}`, ...DAWN_FLAGS];
  let instance: GPU;
  try {
    instance = create(flags) as unknown as GPU;
  } catch {
    return null;
  }
  liveInstances.push(instance);
  try {
    const opts: GPURequestAdapterOptions & { featureLevel?: string } = { powerPreference: 'high-performance' };
    if (compat) opts.featureLevel = 'compatibility';
    // Dawn prints its notices inside this synchronous call; they are kept for the no-adapter error.
    const request = withNativeStderrFiltered(() => instance.requestAdapter(opts), (text) => dawnNotices.push(`${backend}: ${text.trim()}`));
    return await request;
  } catch {
    return null;
  }
}

function isCpuAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { adapterType?: string };
  return info.adapterType === 'cpu' || CPU_ADAPTER.test(describe(info));
}

async function chooseAdapter(wanted: GPUFeatureName[]): Promise<{ adapter: GPUAdapter; backend: BackendName }> {
  const forced = (process.env.SRASEG_BACKEND ?? 'auto').toLowerCase();
  if (forced !== 'auto') {
    const backend = forced as BackendName;
    const adapter = await tryBackend(backend, backend === 'opengl');
    if (!adapter) throw noAdapterError(`SRASEG_BACKEND=${forced} was requested but that backend gave no adapter.`);
    return { adapter, backend };
  }
  // 1. Whatever Dawn picks by default: a discrete or integrated GPU if the machine has one.
  const first = await tryBackend('default', false);
  if (first && !isCpuAdapter(first)) return { adapter: first, backend: 'default' };
  // 2. CPU only. OpenGL is faster here, but has no f16, subgroups or timestamps.
  const needsVulkan = wanted.some((f) => f === 'shader-f16' || f === 'subgroups' || f === 'timestamp-query');
  const order: BackendName[] = needsVulkan ? ['vulkan', 'opengl'] : ['opengl', 'vulkan'];
  for (const backend of order) {
    const adapter = await tryBackend(backend, backend === 'opengl');
    if (adapter) return { adapter, backend };
  }
  if (first) return { adapter: first, backend: 'default' };
  throw noAdapterError('Neither a GPU nor a software (Mesa llvmpipe/lavapipe) adapter was found.');
}

/** Why SRASEG_F16=1 cannot run on this adapter, and what to do. */
export function f16Refusal(description: string, backend: string): string {
  return (
    `SRASEG_F16=1 needs the WebGPU feature shader-f16, which this adapter (${description}, ${backend}) lacks: ` +
    `unset SRASEG_F16, or run on a GPU or on Dawn→Vulkan/lavapipe (bash scripts/lavapipe-local.sh; source .lavapipe/env.sh)`
  );
}

function noAdapterError(why: string): Error {
  const said = dawnNotices.length ? `  Dawn said: ${dawnNotices.join(' | ').replace(/\s*\n\s*/g, ' ')}\n` : '';
  return new InputError(
    `No WebGPU adapter: ${why}\n` +
      said +
      `  Fix: run 'bash scripts/setup.sh' as root; on a machine without a GPU it installs Mesa's CPU drivers\n` +
      `  (libegl-mesa0 + libgl1-mesa-dri for Dawn→OpenGL, mesa-vulkan-drivers ≥ 24 for Dawn→Vulkan).\n` +
      `  For Vulkan also set XDG_RUNTIME_DIR; for OpenGL without a display EGL_PLATFORM=surfaceless is used.\n` +
      `  SRASEG_BACKEND=opengl|vulkan forces a backend.`,
  );
}

/** Initialise (once) and return the process's GPU context. */
export async function initGpu(options: InitOptions = {}): Promise<GpuContext> {
  if (context) return context;
  if (pending) return pending;
  process.env.EGL_PLATFORM ??= 'surfaceless';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  pending = (async () => {
    const required = options.requiredFeatures ?? [];
    // SRASEG_F16=1 (kernels/variant.ts) wants shader-f16: on a CPU-only machine that means Vulkan. Where
    // the chosen adapter lacks it, the start is refused below, before any work.
    const f16Asked = process.env.SRASEG_F16 === '1';
    const wanted: GPUFeatureName[] = f16Asked ? [...required, 'shader-f16'] : required;
    const { adapter, backend } = await chooseAdapter(wanted);
    const refusal = softwareRefusal(describe(adapter.info), isCpuAdapter(adapter));
    if (refusal) throw new InputError(refusal);
    const want: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups'];
    const features = want.filter((f) => adapter.features.has(f));
    // SRASEG_F16=1 on an adapter without shader-f16: refused here, before any work (kernels/variant.ts).
    if (f16Asked && !adapter.features.has('shader-f16')) throw new InputError(f16Refusal(describe(adapter.info), backend));
    const missing = required.filter((f) => !adapter.features.has(f));
    if (missing.length) throw new Error(`The chosen adapter lacks required WebGPU features: ${missing.join(', ')}`);
    // Ask for everything the adapter allows: the defaults (128 MiB bindings, 8 storage buffers) are small.
    const lim = adapter.limits;
    const requiredLimits: Record<string, number> = {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: lim.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension,
    };
    const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
    // Uncaptured errors and the device's loss are turned into exceptions by the runtime (gpu-errors.ts).
    const info = adapter.info;
    const isCpu = isCpuAdapter(adapter);
    context = {
      device,
      adapter,
      backend,
      description: describe(info),
      isCpu,
      features: {
        f16: features.includes('shader-f16'),
        subgroups: features.includes('subgroups'),
        timestamps: features.includes('timestamp-query'),
      },
      limits: device.limits,
    };
    if (!options.quiet && !process.env.SRASEG_QUIET) {
      console.error(`[webgpu] adapter: ${context.description} · backend ${backend}${isCpu ? ' (software)' : ''}`);
    }
    if (!exitHooked) {
      exitHooked = true;
      // A live device keeps Node's event loop alive; make sure a crash still exits.
      process.once('exit', () => context?.device.destroy());
    }
    return context;
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The initialised context; throws if initGpu() has not completed. */
export function gpu(): GpuContext {
  if (!context) throw new Error('GPU not initialised: call `await initGpu()` first.');
  return context;
}

/** Destroy the device so that Node can exit. Safe to call twice. */
export function shutdownGpu(): void {
  if (!context) return;
  context.device.destroy();
  context = null;
}
