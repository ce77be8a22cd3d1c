// The `test` every test file uses: uvu's, with each test body run in its own ownership scope
// (`tidy(async …)`), so tensors a test creates are freed when it ends, and test/run.mjs turns strict
// ownership on — an allocation outside every scope (a test file's top level, or library code that
// escapes its scopes) throws, naming the op. `rawTest` runs a body with no scope around it, as a
// command-line run would: the memory-flatness tests use it so that strict mode checks the trainers'
// own scopes, not the test's.
import { test as uvuTest } from 'uvu';
import { tidy } from '../src/index.js';

type Body = (context: Record<string, unknown>) => void | Promise<void>;

function scoped(body: Body): Body {
  return (context) => tidy(async () => void (await body(context)));
}

type Test = ((name: string, body: Body) => void) & {
  skip: (name: string, body?: Body) => void;
  only: (name: string, body: Body) => void;
  run: () => void;
};

export const test: Test = Object.assign((name: string, body: Body) => uvuTest(name, scoped(body)), {
  skip: (name: string, body?: Body) => uvuTest.skip(name, body && scoped(body)),
  only: (name: string, body: Body) => uvuTest.only(name, scoped(body)),
  run: () => uvuTest.run(),
});

export const rawTest = uvuTest;
