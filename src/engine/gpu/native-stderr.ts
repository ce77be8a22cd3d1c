// Dawn writes some start-up notices straight to file descriptor 2 from native code, during
// `requestAdapter` (measured: synchronously, inside the call), where Node's process.stderr cannot see
// them: "Couldn't load Vulkan: libvulkan.so.1 …" on machines without a Vulkan loader, and
// "max…PerPipelineLayout artificially reduced …" for Mesa's OpenGL driver. They are noise for users.
//
// Node cannot dup2, so fd 2 is swapped by hand around the synchronous call: close it, open a capture
// file (the lowest free descriptor, i.e. 2), run, close, and reopen the original through
// /proc/self/fd (again landing on 2). The captured text is filtered: the known notices are dropped,
// anything else is written back to stderr. This is done only where reopening gives back the same
// stream: a terminal, a pipe, /dev/null, or a file opened for appending. A socket cannot be reopened
// and a log file opened without O_APPEND would lose its shared offset (`>log 2>&1` would overwrite
// itself), so there the notices are left as they are.
// SRASEG_DEBUG=1 or SRASEG_VERBOSE_GPU=1 shows everything Dawn prints.
import { closeSync, constants, fstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Dawn's notices that say nothing a user of this engine can act on (each line; continuation lines follow). */
export const BENIGN_DAWN_NOTICES: readonly RegExp[] = [
  /^Warning: Couldn't load Vulkan: /,
  /^Warning: maxDynamic\w+PerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/,
];

/** Drops the benign notices (with their indented 'at …' continuation lines and the blank line after) from captured text; what is kept ends with a newline. */
export function filterDawnNotices(text: string): string {
  const kept: string[] = [];
  let dropping = false;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (BENIGN_DAWN_NOTICES.some((re) => re.test(line))) dropping = true;
    else if (!(dropping && (/^\s+at /.test(line) || line === ''))) {
      dropping = false;
      kept.push(line);
    }
  }
  return kept.length ? `${kept.join('\n')}\n` : '';
}

function verbose(): boolean {
  return Boolean(process.env.SRASEG_DEBUG || process.env.SRASEG_VERBOSE_GPU);
}

/** Whether fd 2 can be closed and reopened through /proc/self/fd without changing where output goes. */
function reopenable(): boolean {
  try {
    // The swap relies on 0 and 1 being open (the reopened file must land on 2, the lowest free fd).
    fstatSync(0);
    fstatSync(1);
    const st = fstatSync(2);
    if (st.isCharacterDevice() || st.isFIFO()) return true;
    if (!st.isFile()) return false;
    const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/2', 'utf8'));
    return Boolean(flags && Number.parseInt(flags[1], 8) & constants.O_APPEND);
  } catch {
    return false; // not Linux, or no /proc
  }
}

/**
 * Runs `fn` (synchronous) with native writes to fd 2 captured; writes back what is not a known benign
 * Dawn notice. Returns fn's result; `captured` receives the raw text (for error messages).
 */
export function withNativeStderrFiltered<T>(fn: () => T, captured?: (text: string) => void): T {
  if (verbose() || !reopenable()) return fn();
  const original = openOriginal();
  if (original === null) return fn();
  const capturePath = join(tmpdir(), `sraseg-dawn-${process.pid}-${Date.now()}.log`);
  closeSync(openSync(capturePath, 'w'));
  let swapped = false;
  try {
    // The window between close and open is microseconds at start-up, before any other thread opens files.
    closeSync(2);
    const fd = openSync(capturePath, 'a');
    swapped = fd === 2;
    if (!swapped) closeSync(fd);
    return fn();
  } finally {
    if (swapped) closeSync(2);
    // The original stream goes back on the lowest free descriptor: 2 (0 and 1 are open).
    const back = reopen(original);
    if (back !== 2) closeSync(back);
    closeSync(original);
    const text = readFileSync(capturePath, 'utf8');
    unlinkSync(capturePath);
    if (swapped && text) {
      captured?.(text);
      const rest = filterDawnNotices(text);
      if (rest.trim()) writeSync(2, rest);
    }
  }
}

const WRITE = constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY;

/** A second descriptor on fd 2's stream, or null when a pipe has no reader left (opening it would block). */
function openOriginal(): number | null {
  try {
    if (fstatSync(2).isFIFO()) closeSync(openSync('/proc/self/fd/2', WRITE | constants.O_NONBLOCK)); // ENXIO: no reader
    return openSync('/proc/self/fd/2', WRITE);
  } catch {
    return null;
  }
}

/** Reopens the saved stream; a pipe whose reader went away meanwhile becomes /dev/null (output would be lost anyway). */
function reopen(saved: number): number {
  try {
    if (fstatSync(saved).isFIFO()) closeSync(openSync(`/proc/self/fd/${saved}`, WRITE | constants.O_NONBLOCK));
    return openSync(`/proc/self/fd/${saved}`, WRITE);
  } catch {
    return openSync('/dev/null', 'w');
  }
}
