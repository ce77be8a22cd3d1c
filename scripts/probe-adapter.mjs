// Prints the WebGPU adapter the engine picks (scripts/setup.sh runs this after the build).
// Exit status 1, with the engine's explanation on stderr, when there is none. --quiet prints nothing.
// SRASEG_BACKEND=opengl|vulkan probes one backend.
// --json prints one JSON object instead: the adapter's info, backend, whether it is software, its
// features, the adapter's and the device's limits, and, where it has timestamp-query, a check that
// timestamps are not quantised (Dawn's default rounds them to 65,536 ns; the engine turns that off).
// scripts/gpu-check.sh runs it with SRASEG_REQUIRE_GPU=1: then a software adapter (llvmpipe, lavapipe,
// SwiftShader) is refused with exit status 1, unless SRASEG_ALLOW_SOFTWARE=1.
const quiet = process.argv.includes('--quiet');
const asJson = process.argv.includes('--json');
const engine = await import(new URL(`../${process.env.DIST ?? 'dist'}/index.js`, import.meta.url));

/** Own and prototype getters of a Dawn object (GPUSupportedLimits, GPUAdapterInfo) as plain data. */
function plain(obj) {
  const out = {};
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'function') continue;
    out[k] = Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' ? plain(x) : x)) : v;
  }
  return out;
}

/**
 * Times 24 passes of a small loop kernel with begin/end timestamps and reports the raw values:
 * all multiples of 65,536 ns means Dawn's timestamp quantisation is still on.
 */
async function timestampCheck(device) {
  const passes = 24;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        var x = f32(id.x);
        for (var i = 0u; i < ${4096}u; i++) { x = fma(x, 0.999, 0.5); }
        acc[id.x] = x;
      }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const acc = device.createBuffer({ size: 64 * 64 * 4, usage: GPUBufferUsage.STORAGE });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: acc } }] });
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * passes });
  const resolved = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  for (let i = 0; i < passes; i++) {
    const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1 + (i % 8) * 8);
    pass.end();
  }
  enc.resolveQuerySet(querySet, 0, 2 * passes, resolved, 0);
  enc.copyBufferToBuffer(resolved, 0, staging, 0, 16 * passes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(staging.getMappedRange().slice(0));
  staging.unmap();
  for (const b of [acc, resolved, staging]) b.destroy();
  querySet.destroy();
  const deltas = [];
  for (let i = 0; i < passes; i++) deltas.push(Number(t[2 * i + 1] - t[2 * i]));
  const quantised = [...t].every((v) => v % 65536n === 0n);
  const sorted = [...deltas].sort((a, b) => a - b);
  return { passes, quantised, minPassNs: sorted[0], medianPassNs: sorted[passes >> 1], maxPassNs: sorted[passes - 1] };
}

try {
  const { ctx } = await engine.init({ quiet: true });
  const f = ctx.features;
  const extras = Object.keys(f).filter((k) => f[k]);
  if (asJson) {
    const report = {
      description: ctx.description,
      backend: ctx.backend,
      software: ctx.isCpu,
      info: plain(ctx.adapter.info),
      features: [...ctx.adapter.features].sort(),
      engineFeatures: f,
      adapterLimits: plain(ctx.adapter.limits),
      deviceLimits: plain(ctx.limits),
      timestamps: f.timestamps ? await timestampCheck(ctx.device) : null,
      node: process.version,
    };
    console.log(JSON.stringify(report, null, 2));
  } else if (!quiet) {
    console.log(
      `setup: WebGPU adapter: ${ctx.description} · backend ${ctx.backend}${ctx.isCpu ? ' (software)' : ''}` +
        ` · features: ${extras.length ? extras.join(', ') : 'none optional'}`,
    );
  }
} catch (err) {
  if (!quiet) console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
} finally {
  await engine.shutdown();
}
