// Bundles the library (src/index.ts → dist/index.js), each test (test/*.test.ts → dist/test/*.js) and
// each command (src/cli/commands/<name>.ts → dist/cli/<name>.js, which runs it; bench/<name>.js
// imports that file), plus the CLI module for the benchmarks (src/cli/index.ts → dist/cli/index.js).
// WGSL files are imported as text. Tests and commands import the library from src/index.ts, which is
// left external and points at the one shared bundle: every test file in a process, and a command and
// the library it calls, use the same runtime (one device) and the same error classes.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

// DIST=dist-x builds elsewhere (parallel work trees); test/run.mjs and bench/*.js read the same variable.
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

const packages = ['webgpu', 'h5wasm', 'pngjs', 'uvu', 'uvu/*'];
const libraryIndex = resolve('src/index.ts');

/** Imports that resolve to src/index.ts become '../index.js' (dist/test/x.js and dist/cli/x.js → dist/index.js). */
const libraryExternal = {
  name: 'library-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      return target === libraryIndex ? { path: '../index.js', external: true } : undefined;
    });
  },
};

// One entry per command, generated: import the command and run it (the command modules themselves
// only export, so tests can import them without running anything).
const commands = readdirSync('src/cli/commands').filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const commandEntries = {
  name: 'command-entries',
  setup(build) {
    build.onResolve({ filter: /^command:/ }, (args) => ({ path: args.path.slice('command:'.length), namespace: 'command' }));
    build.onLoad({ filter: /.*/, namespace: 'command' }, (args) => ({
      contents: `import command from './src/cli/commands/${args.path}.ts';\nimport { runCommand } from './src/cli/runner.ts';\nawait runCommand(command);\n`,
      resolveDir: process.cwd(),
      loader: 'ts',
    }));
  },
};

const tests = readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/index.ts'], outfile: `${dist}/index.js`, external: ['webgpu', 'h5wasm', 'pngjs'] }),
  tests.length && esbuild.build({ ...common, entryPoints: tests, outdir: `${dist}/test`, plugins: [libraryExternal], external: packages }),
  esbuild.build({
    ...common,
    entryPoints: [...commands.map((name) => ({ in: `command:${name}`, out: name })), { in: 'src/cli/index.ts', out: 'index' }],
    outdir: `${dist}/cli`,
    plugins: [commandEntries, libraryExternal],
    external: packages,
  }),
]);
