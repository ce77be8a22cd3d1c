// Tests leave nothing on disk. Training tests write up to 250 MB of checkpoints each; left behind,
// those folders once filled the disk a CI run shared (ENOSPC mid-run). Two guards, each checked here:
// test/fixtures.ts's tempDir removes its folders when the process exits, and test/run.mjs runs under
// a TMPDIR of its own that it removes at the end (for the commands tests spawn). A test source that
// makes a folder some other way would slip past both, so the sources are read for that too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { tempDir } from './fixtures.js';

// This file run as a child with SRASEG_SCRATCH_PROBE=1: make a folder with a file in it, print its
// path, exit.
if (process.env.SRASEG_SCRATCH_PROBE === '1') {
  const dir = tempDir('scratch-probe');
  mkdirSync(join(dir, 'run'));
  writeFileSync(join(dir, 'run', 'checkpoint.bin'), new Uint8Array(1024));
  console.log(dir);
  process.exit(0);
}

test('a tempDir folder, with files in it, is gone once its process exits', () => {
  const self = resolve(process.env.DIST ?? 'dist', 'test', 'scratch.test.js');
  const r = spawnSync(process.execPath, [self], { encoding: 'utf8', env: { ...process.env, SRASEG_SCRATCH_PROBE: '1' } });
  assert.is(r.status, 0, r.stderr);
  const dir = r.stdout.trim().split('\n').at(-1)!;
  assert.ok(dir.includes('sraseg-scratch-probe-'), `the child printed its folder: ${r.stdout}`);
  assert.not.ok(existsSync(dir), `${dir} was left behind`);
});

test('test/run.mjs removes the TMPDIR it ran under', () => {
  const parent = mkdtempSync(join(tmpdir(), 'sraseg-scratch-parent-'));
  try {
    // A filter that matches no test file: the runner starts, makes its folder, runs nothing, ends.
    const r = spawnSync(process.execPath, ['test/run.mjs', 'no-test-file-has-this-name'], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: parent },
      timeout: 120_000,
    });
    assert.is(r.status, 0, r.stderr);
    assert.equal(readdirSync(parent), [], 'the runner left its scratch folder behind');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('test sources make scratch folders only through tempDir', () => {
  const offenders: string[] = [];
  for (const name of readdirSync('test').filter((f) => f.endsWith('.ts') && f !== 'fixtures.ts' && f !== 'scratch.test.ts')) {
    readFileSync(join('test', name), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/mkdtemp|['"`]\/tmp\/[^'"`]*-['"`]/.test(line)) offenders.push(`test/${name}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.equal(offenders, [], `use tempDir from test/fixtures.ts:\n${offenders.join('\n')}`);
});

test.run();
