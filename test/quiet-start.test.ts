// Quiet start-up: Dawn's native notices at adapter creation ("Couldn't load Vulkan", "… artificially
// reduced …") are filtered out of stderr unless SRASEG_DEBUG / SRASEG_VERBOSE_GPU asks for them, the
// one-line adapter notice stays (SRASEG_QUIET=1 hides it), and anything else Dawn says still shows.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { BENIGN_DAWN_NOTICES, filterDawnNotices, withNativeStderrFiltered } from '../src/engine/gpu/native-stderr.js';
import { tempDir } from './fixtures.js';

// Child mode (this bundle spawned by the test below): a "native" write to fd 2 inside the filter, then one after.
const NATIVE = "Warning: Couldn't load Vulkan: libvulkan.so.1: missing\n    at operator() (BackendVk.cpp:368)\n\nError: keep me\n";
if (process.env.SRASEG_STDERR_CHILD) {
  withNativeStderrFiltered(() => writeSync(2, NATIVE));
  writeSync(2, 'after\n');
  process.exit(0);
}

const dir = tempDir('quiet');

test('filterDawnNotices drops the known notices with their continuation lines, keeps everything else (catches: an unknown Dawn error swallowed with the noise)', () => {
  const text =
    "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n" +
    '    at operator() (/home/runner/work/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)\n' +
    '\n' +
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.\n' +
    'Error: something Dawn really means\n' +
    'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.\n';
  assert.is(filterDawnNotices(text), 'Error: something Dawn really means\n');
  assert.is(filterDawnNotices('Warning: unrelated\n'), 'Warning: unrelated\n');
});

test('the fd-2 swap filters a terminal-like stream, and leaves the rest intact (catches: output lost or reordered where fd 2 cannot be reopened; unknown lines dropped; SRASEG_VERBOSE_GPU ignored)', () => {
  const self = join(process.cwd(), process.env.DIST ?? 'dist', 'test', 'quiet-start.test.js');
  const env = { ...process.env, SRASEG_STDERR_CHILD: '1', SRASEG_DEBUG: '', SRASEG_VERBOSE_GPU: '' };
  const toFile = (flags: string, extra: Record<string, string> = {}) => {
    const log = join(dir, `child-${flags}.log`);
    writeFileSync(log, flags === 'a' ? 'first\n' : '');
    const fd = openSync(log, flags);
    try {
      spawnSync(process.execPath, [self], { stdio: ['ignore', 'ignore', fd], env: { ...env, ...extra } });
    } finally {
      closeSync(fd);
    }
    return readFileSync(log, 'utf8');
  };
  assert.is(toFile('a'), 'first\nError: keep me\nafter\n', 'a file opened for appending: filtered');
  assert.is(toFile('a', { SRASEG_VERBOSE_GPU: '1' }), `first\n${NATIVE}after\n`, 'SRASEG_VERBOSE_GPU=1: everything');
  assert.is(toFile('r+'), `${NATIVE}after\n`, 'a file opened without O_APPEND: left alone, nothing lost');
  const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${self}" 2>&1 | cat`], { encoding: 'utf8', env });
  assert.is(piped.stdout, 'Error: keep me\nafter\n', 'a pipe: filtered');
  const socket = spawnSync(process.execPath, [self], { encoding: 'utf8', env });
  assert.is(socket.stderr, `${NATIVE}after\n`, 'a socket (Node child pipes): left alone');
});

/** Starts the engine in a child whose stderr is a file opened for appending (as `>>log 2>&1` or nohup do). */
function startEngine(env: Record<string, string>): string {
  const script = join(dir, 'start.mjs');
  writeFileSync(script, `const E = await import(${JSON.stringify(join(process.cwd(), process.env.DIST ?? 'dist', 'index.js'))});\nawait E.init();\nconsole.error('after init');\nawait E.shutdown();\n`);
  const log = join(dir, `stderr-${Object.keys(env).join('-') || 'plain'}.log`);
  writeFileSync(log, '');
  const fd = openSync(log, 'a');
  try {
    const r = spawnSync(process.execPath, [script], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, SRASEG_DEBUG: '', SRASEG_VERBOSE_GPU: '', SRASEG_QUIET: '', ...env } });
    assert.is(r.status, 0, readFileSync(log, 'utf8'));
  } finally {
    closeSync(fd);
  }
  return readFileSync(log, 'utf8');
}

const isNotice = (line: string) => BENIGN_DAWN_NOTICES.some((re) => re.test(line));

test('start-up shows the adapter line and none of the benign Dawn notices; SRASEG_VERBOSE_GPU shows them (catches: the notices reaching users; the filter dropping output for good)', () => {
  const verbose = startEngine({ SRASEG_VERBOSE_GPU: '1' });
  const quiet = startEngine({});
  assert.match(quiet, /^\[webgpu\] adapter: .*\nafter init\n$/, `quiet start-up printed:\n${quiet}`);
  assert.equal(quiet.split('\n').filter(isNotice), []);
  const notices = verbose.split('\n').filter(isNotice);
  if (!notices.length) console.log('quiet-start.test: Dawn printed no start-up notices on this machine; the filter had nothing to remove');
  else assert.match(verbose, /after init/, 'the verbose run is the same run with the notices left in');
  const hidden = startEngine({ SRASEG_QUIET: '1' });
  assert.is(hidden, 'after init\n', 'SRASEG_QUIET hides the adapter line');
});

test.run();
