// Bundles the engine (src/index.ts → dist/index.js) and each test (test/*.test.ts → dist/test/*.js).
// WGSL files are imported as text. Tests import the engine from '../src/index.js', which is rewritten
// to the one shared bundle, so every test file in a process uses the same runtime (one device).
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

// DIST=dist-x builds elsewhere (parallel work trees); test/run.mjs reads the same variable.
const dist = process.env.DIST ?? 'dist';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
};

const engineExternal = {
  name: 'engine-external',
  setup(build) {
    build.onResolve({ filter: /(^|\/)src\/index(\.js|\.ts)?$/ }, () => ({ path: '../index.js', external: true }));
    build.onResolve({ filter: /^webgpu$/ }, () => ({ path: 'webgpu', external: true }));
  },
};

const tests = readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/index.ts'], outfile: `${dist}/index.js`, external: ['webgpu', 'h5wasm', 'pngjs'] }),
  tests.length &&
    esbuild.build({
      ...common,
      entryPoints: tests,
      outdir: `${dist}/test`,
      plugins: [engineExternal],
      external: ['webgpu', 'h5wasm', 'pngjs', 'uvu', 'uvu/*'],
    }),
]);
