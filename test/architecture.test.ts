// The layering, checked on the source: the engine (src/engine/, kernels/, shaders/) imports nothing
// from the application; the application reaches the engine through src/engine/index.ts only; no
// module imports itself back through a chain (type imports included); no side-effect imports.
// Mistakes these tests catch (each made once by hand): kernels/elementwise.ts importing
// '../src/data/rng.js'; src/sraseg/sa.ts importing '../../kernels/reduce.js' directly; reduce.ts
// importing elementwise.ts again (the old cycle); `import './x.js';` registration in a kernel file;
// src/cli/commands/eval-acdc.ts importing '../../train/evaluate.js' (a second engine in its bundle).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';

const root = process.cwd();
const ENGINE_ROOTS = ['src/engine', 'kernels', 'shaders'];
const ENGINE_PACKAGES = new Set(['webgpu']);

interface ImportEdge {
  from: string;
  spec: string;
  /** Repo-relative target for relative specifiers, else null (a package). */
  target: string | null;
  sideEffectOnly: boolean;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) sourceFiles(path, out);
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const edges: ImportEdge[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^'";]*?\sfrom\s+'([^']+)'/gm, // import … from / export … from
    /^\s*import\s+'([^']+)'/gm, // side-effect import
    /\bimport\(\s*'([^']+)'\s*\)/g, // dynamic import
  ];
  patterns.forEach((re, kind) => {
    for (const m of text.matchAll(re)) {
      const spec = m[1];
      const target = spec.startsWith('.') ? relative(root, resolve(dirname(join(root, file)), spec)).replace(/\.js$/, '.ts') : null;
      edges.push({ from: file, spec, target, sideEffectOnly: kind === 1 });
    }
  });
  return edges;
}

const files = [...sourceFiles('src'), ...sourceFiles('kernels')];
const edges = files.flatMap(importsOf);
const isEngine = (path: string) => ENGINE_ROOTS.some((r) => path === r || path.startsWith(r + '/'));

test('the engine imports nothing from the application, and only webgpu and node: among packages', () => {
  const bad = edges
    .filter((e) => isEngine(e.from))
    .filter((e) => (e.target ? !isEngine(e.target) : !e.spec.startsWith('node:') && !ENGINE_PACKAGES.has(e.spec)))
    .map((e) => `${e.from} imports '${e.spec}'`);
  assert.equal(bad, [], `engine → application imports:\n${bad.join('\n')}`);
});

test('the application reaches the engine through src/engine/index.ts only', () => {
  const bad = edges
    .filter((e) => !isEngine(e.from) && e.target && isEngine(e.target) && e.target !== 'src/engine/index.ts')
    .map((e) => `${e.from} imports '${e.spec}'`);
  assert.equal(bad, [], `deep imports into the engine:\n${bad.join('\n')}`);
});

test('the commands (src/cli/) use the library through src/index.ts only, and the library does not export them', () => {
  // dist/cli/<name>.js keeps src/index.ts external (one shared dist/index.js); a deep import from a
  // command would bundle a second copy of those modules — a second runtime, a second UserError class.
  const bad = edges
    .filter((e) => e.from.startsWith('src/cli/') && e.target && !e.target.startsWith('src/cli/') && e.target !== 'src/index.ts')
    .map((e) => `${e.from} imports '${e.spec}'`);
  assert.equal(bad, [], `deep imports from the command-line layer:\n${bad.join('\n')}`);
  const exported = edges.filter((e) => !e.from.startsWith('src/cli/') && e.target?.startsWith('src/cli/')).map((e) => `${e.from} imports '${e.spec}'`);
  assert.equal(exported, [], 'the library imports the command-line layer');
});

test('no import cycles among src/ and kernels/ (type imports included)', () => {
  const graph = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (e.target && graph.has(e.target)) graph.get(e.from)!.push(e.target);
  // Tarjan's strongly connected components: any component of more than one file is a cycle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component);
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  assert.equal(cycles.map((c) => c.sort().join(' ↔ ')), [], 'import cycles');
});

test('no side-effect imports (initialisation order must be visible in the code, not in import order)', () => {
  const bad = edges.filter((e) => e.sideEffectOnly).map((e) => `${e.from} imports '${e.spec}' for its side effects`);
  assert.equal(bad, []);
});

test('every relative import resolves to a file that exists', () => {
  const missing = edges
    .filter((e) => e.target && !e.spec.endsWith('.wgsl'))
    .filter((e) => {
      try {
        return !statSync(join(root, e.target!)).isFile();
      } catch {
        return true;
      }
    })
    .map((e) => `${e.from} → ${e.spec}`);
  assert.equal(missing, []);
});

test.run();
