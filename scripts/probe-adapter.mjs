// Prints the WebGPU adapter the engine picks (scripts/setup.sh runs this after the build).
// Exit status 1, with the engine's explanation on stderr, when there is none. --quiet prints nothing.
// SRASEG_BACKEND=opengl|vulkan probes one backend.
const quiet = process.argv.includes('--quiet');
const engine = await import(new URL(`../${process.env.DIST ?? 'dist'}/index.js`, import.meta.url));
try {
  const { ctx } = await engine.init({ quiet: true });
  const f = ctx.features;
  const extras = Object.keys(f).filter((k) => f[k]);
  if (!quiet) {
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
