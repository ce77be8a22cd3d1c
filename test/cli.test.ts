// The command-line layer: the declared-option parser and validation, the generated --help, the
// runner's exit codes and one-line errors, and every command rejecting a bad value with exit code 2
// and one line, before touching the GPU or any data. Each test names the mistake it catches.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { defineOptions, numberProblem, parseOptions, UsageError, type OptionValues } from '../src/cli/options.js';
import { describeFailure, EXIT_FAILURE, EXIT_USER_ERROR, helpText } from '../src/cli/runner.js';
import trainAcdc from '../src/cli/commands/train-acdc.js';
import evalAcdc from '../src/cli/commands/eval-acdc.js';
import trainFundus from '../src/cli/commands/train-fundus.js';
import evalFundus from '../src/cli/commands/eval-fundus.js';
import trainStylegan from '../src/cli/commands/train-stylegan.js';
import generate from '../src/cli/commands/generate.js';
import fd from '../src/cli/commands/fd.js';
import domainGap from '../src/cli/commands/domain-gap.js';
import segment from '../src/cli/commands/segment.js';
import prepareAcdc from '../src/cli/commands/prepare-acdc.js';
import { runBench, tempDir } from './fixtures.js';

const specs = defineOptions({
  mode: { type: 'string', default: 'a', choices: ['a', 'b'], help: 'a mode' },
  size: { type: 'number', integer: true, min: 16, multipleOf: 16, why: 'four poolings', help: 'side' },
  steps: { type: 'number', integer: true, min: 1, default: 10, help: 'steps' },
  rate: { type: 'number', above: 0, below: 1, help: 'a rate' },
  name: { type: 'string', required: true, help: 'a name' },
  flag: { type: 'boolean', default: true, help: 'a switch' },
});

// Compile-time checks (tsc runs on tests): the parsed values are typed from the declarations.
function typedValues(v: OptionValues<typeof specs>): void {
  const mode: 'a' | 'b' = v.mode; // a choices option is its union, not any string
  const steps: number = v.steps; // a default makes it always set
  const name: string = v.name; // so does required
  const flag: boolean = v.flag;
  // @ts-expect-error: an option without default may be absent
  const size: number = v.size;
  void [mode, steps, name, flag, size];
}
void typedValues;

function usageError(argv: string[], pattern: RegExp): void {
  try {
    parseOptions(argv, specs);
  } catch (e) {
    assert.instance(e, UsageError, `expected a UsageError for ${argv.join(' ')}, got ${String(e)}`);
    assert.instance(e, E.InputError, 'usage errors are input errors (exit code 2)');
    assert.match((e as Error).message, pattern);
    assert.not.match((e as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`${argv.join(' ')} was accepted`);
}

const values = (argv: string[]) => {
  const r = parseOptions(argv, specs);
  if (r.help) throw new Error('unexpected --help');
  return r.values;
};

test('parser: defaults, --x value, --x=value, --no-flag (catches: a default dropped, = or negation not understood)', () => {
  assert.equal(values(['--name', 'n']), { mode: 'a', size: undefined, steps: 10, rate: undefined, name: 'n', flag: true });
  assert.equal(values(['--name=n', '--mode=b', '--size', '32', '--steps=1', '--rate', '0.5', '--no-flag']), { mode: 'b', size: 32, steps: 1, rate: 0.5, name: 'n', flag: false });
  assert.equal(values(['--name', 'n', '--no-flag', '--flag']).flag, true, 'the last occurrence wins');
  assert.equal(parseOptions(['--name', 'n', '--help'], specs), { help: true });
});

test('parser: choices (catches: a value outside the declared choices accepted, e.g. --sa-mode foo)', () => {
  usageError(['--name', 'n', '--mode', 'c'], /^--mode c: must be one of a \| b$/);
});

test('parser: integers and ranges (catches: --iterations 0 or 2.5 accepted; an inclusive bound treated as exclusive)', () => {
  usageError(['--name', 'n', '--steps', '0'], /^--steps 0: must be an integer ≥ 1$/);
  usageError(['--name', 'n', '--steps', '2.5'], /^--steps 2\.5: must be an integer ≥ 1$/);
  usageError(['--name', 'n', '--steps', 'ten'], /^--steps ten: not a number; an integer ≥ 1$/);
  usageError(['--name', 'n', '--steps', ''], /not a number/);
  assert.is(values(['--name', 'n', '--steps', '1']).steps, 1, 'the bound itself is allowed');
  usageError(['--name', 'n', '--rate', '0'], /^--rate 0: must be a number > 0 and < 1$/);
  usageError(['--name', 'n', '--rate', '1'], /^--rate 1: must be a number > 0 and < 1$/);
});

test('parser: multiples name the reason and the nearest allowed values (catches: --size 50 accepted, a useless message)', () => {
  usageError(['--name', 'n', '--size', '50'], /^--size 50: must be an integer ≥ 16, a multiple of 16 \(four poolings\): e\.g\. 48 or 64$/);
  usageError(['--name', 'n', '--size', '0'], /^--size 0: must be .* e\.g\. 16 or 32$/);
  assert.is(values(['--name', 'n', '--size', '48']).size, 48);
  assert.is(numberProblem(64, { type: 'number', help: '', multipleOf: 16, check: (v) => (v > 32 ? 'too big' : null) }), 'too big', 'the custom check runs after the declared ones');
});

test('parser: unknown flag, missing value, stray argument, required, a value on a switch (catches: typos silently ignored, a value swallowing the next flag)', () => {
  usageError(['--name', 'n', '--step', '3'], /^unknown option --step \(did you mean --steps\?\): --help lists the options$/);
  usageError(['--name', 'n', '--bogus'], /^unknown option --bogus: --help/);
  usageError(['--name', 'n', '--size'], /^--size needs a value: an integer ≥ 16, a multiple of 16$/);
  usageError(['--size', '--name', 'n'], /^--size needs a value/);
  usageError(['--name', 'n', 'extra'], /^unexpected argument 'extra'/);
  usageError([], /^--name is required: a name$/);
  usageError(['--name', 'n', '--flag=yes'], /^--flag takes no value: write --flag or --no-flag$/);
});

const COMMANDS = [prepareAcdc, trainAcdc, evalAcdc, trainFundus, evalFundus, trainStylegan, generate, fd, domainGap, segment];

test('--help is generated from the declarations: every flag, its constraint, its default (catches: a flag missing from --help, help and parser disagreeing)', () => {
  for (const c of COMMANDS) {
    const text = helpText(c as never);
    assert.match(text, new RegExp(`^usage: node bench/${c.name}\\.js`), c.name);
    for (const name of Object.keys(c.options)) assert.match(text, new RegExp(`--(\\[no-\\])?${name}\\b`), `${c.name} --help lists --${name}`);
  }
  const text = helpText(trainAcdc as never);
  assert.match(text, /--size <px> .*\(integer ≥ 16, a multiple of 16\)/);
  assert.match(text, /--method <supervised\|bcp\|sra-seg> .*default: supervised/);
  assert.match(text, /--iterations <n> .*integer ≥ 1/);
  assert.match(text, /--\[no-\]sa /);
});

test('runner: input errors exit 2 with one line, SRASEG_DEBUG shows the stack, other errors exit 1 with their stack (catches: a user error printed as a stack trace, a bug hidden as one line)', () => {
  const user = describeFailure('eval-acdc', new E.UserError('x.safetensors: no such file'), false);
  assert.equal(user, { code: EXIT_USER_ERROR, text: 'eval-acdc: x.safetensors: no such file' });
  const engine = describeFailure('eval-acdc', new E.InputError('corrupt'), false);
  assert.is(engine.code, EXIT_USER_ERROR, "the engine's InputError (a bad weights file) is a user error too");
  assert.match(describeFailure('eval-acdc', new E.UserError('boom'), true).text, /UserError: boom\n\s+at /);
  const bug = describeFailure('eval-acdc', new TypeError('x is undefined'), false);
  assert.is(bug.code, EXIT_FAILURE);
  assert.match(bug.text, /^TypeError: x is undefined\n\s+at /);
});

test('runner end to end: exit 0 on success, 1 with a stack for a bug, 2 for a user error (catches: wrong exit codes, an error swallowed)', () => {
  const dir = tempDir('runner');
  const cli = join(process.cwd(), process.env.DIST ?? 'dist', 'cli', 'index.js');
  const script = join(dir, 'cmd.mjs');
  writeFileSync(
    script,
    `import { defineCommand, runCommand } from ${JSON.stringify(cli)};\n` +
      `const c = defineCommand({ name: 'demo', usage: 'demo', description: 'd', options: { what: { type: 'string', default: 'ok', choices: ['ok', 'bug', 'user'], help: 'h' } },\n` +
      `  async run(a) { if (a.what === 'bug') null.x; if (a.what === 'user') throw new (await import(${JSON.stringify(join(process.cwd(), process.env.DIST ?? 'dist', 'index.js'))})).UserError('fix this'); console.log('done'); } });\n` +
      `await runCommand(c);\n`,
  );
  const run = (what: string) => spawnSync(process.execPath, [script, '--what', what], { encoding: 'utf8', env: { ...process.env, SRASEG_DEBUG: '' } });
  const ok = run('ok');
  assert.is(ok.status, 0);
  assert.is(ok.stdout, 'done\n');
  const bug = run('bug');
  assert.is(bug.status, 1);
  assert.match(bug.stderr, /TypeError: Cannot read properties of null[^\n]*\n\s+at /);
  const user = run('user');
  assert.is(user.status, 2);
  assert.is(user.stderr, 'demo: fix this\n');
});

/** The in-process half of a command's validation: declared options, then its cross-option check. */
function commandRejects(command: (typeof COMMANDS)[number], argv: string[], pattern: RegExp): void {
  try {
    const r = parseOptions(argv, command.options);
    if (!r.help) (command.check as ((a: unknown) => void) | undefined)?.(r.values);
  } catch (e) {
    assert.instance(e, E.InputError, `${command.name} ${argv.join(' ')}: ${String(e)}`);
    assert.match(`${command.name}: ${(e as Error).message}`, pattern, `${command.name} ${argv.join(' ')}`);
    return;
  }
  assert.unreachable(`${command.name} ${argv.join(' ')} was accepted`);
}

test('commands validate their own constraints and flag combinations (catches: --iterations 0 training "successfully", --size 50 reaching the UNet, --resume without --out)', () => {
  commandRejects(trainAcdc, ['--iterations', '0'], /^train-acdc: --iterations 0: must be an integer ≥ 1$/);
  commandRejects(trainAcdc, ['--size', '50'], /^train-acdc: --size 50: .*multiple of 16 \(the UNet halves the image 4 times\): e\.g\. 48 or 64$/);
  commandRejects(trainAcdc, ['--method', 'sra-seg', '--sa-mode', 'foo'], /^train-acdc: --sa-mode foo: must be one of prediction \| features \| published$/);
  commandRejects(trainAcdc, ['--method', 'sra-seg'], /^train-acdc: --method sra-seg: the SA loss needs DINOv2 weights/);
  commandRejects(trainAcdc, ['--resume'], /^train-acdc: --resume needs --out/);
  commandRejects(trainAcdc, ['--unlabeled', 'synthetic/x'], /^train-acdc: --unlabeled synthetic\/x: supervised training uses no unlabeled slices/);
  commandRejects(trainAcdc, ['--method', 'bcp', '--unlabeled-batch', '3'], /^train-acdc: --unlabeled-batch 3: .*multiple of 2 \(split into halves a and b\)/);
  commandRejects(trainFundus, ['--resume'], /^train-fundus: --resume needs --out/);
  commandRejects(trainFundus, ['--evaluate-on', 'test', '--validation', '4'], /^train-fundus: --validation applies to --evaluate-on validation/);
  commandRejects(evalAcdc, ['--checkpoint', 'c'], /^eval-acdc: pass the volumes with --data DIR .* or with --nifti FILES/);
  commandRejects(evalAcdc, ['--checkpoint', 'c', '--data', 'd', '--spacing'], /^eval-acdc: --spacing: SSL4MIS's HDF5 volumes record no voxel spacing/);
  commandRejects(evalAcdc, ['--data', 'd'], /^eval-acdc: --checkpoint is required/);
  commandRejects(trainStylegan, ['--resolution', '48'], /^train-stylegan: --resolution 48: must be a power of two ≥ 8/);
  commandRejects(trainStylegan, ['--resume'], /^train-stylegan: --resume needs --out/);
  commandRejects(trainStylegan, ['--p', '0.2'], /^train-stylegan: --p 0\.2 applies to --augment fixed/);
  commandRejects(generate, ['--checkpoint', 'g', '--seeds', '5-1'], /^generate: --seeds 5-1: the range ends before it starts$/);
  commandRejects(generate, ['--checkpoint', 'g', '--count', '3', '--seeds', '1,2'], /^generate: pass --count N .* or --seeds LIST, one of the two$/);
  commandRejects(fd, ['--real', 'a', '--synthetic', 'b'], /^fd: pass the feature network: --dinov2 FILE .* or --unet FILE/);
  commandRejects(domainGap, ['--checkpoint', 'x', '--data', 'y', '--class', '0'], /^domain-gap: --class 0: must be an integer between 1 and 3$/);
});

// One bad value per command, as a user types it: exit 2, one line naming the flag, nothing else —
// before the GPU or any data is touched (the paths given do not exist: reading them would be another error).
const BAD: [string, string[], RegExp][] = [
  ['prepare-acdc', ['--nifti', 'none'], /^prepare-acdc: --out is required: /],
  ['train-acdc', ['--iterations', '0'], /^train-acdc: --iterations 0: must be an integer ≥ 1$/], // once "succeeded" with exit 0
  ['eval-acdc', ['--checkpoint', 'none.safetensors', '--data', 'none', '--size', '50'], /^eval-acdc: --size 50: /],
  ['train-fundus', ['--data', 'none', '--channel', 'red'], /^train-fundus: --channel red: must be one of green \| gray$/],
  ['eval-fundus', ['--checkpoint', 'none.safetensors', '--overlays', '-1'], /^eval-fundus: --overlays -1: must be an integer ≥ 0$/],
  ['train-stylegan', ['--batch', '6'], /^train-stylegan: --batch 6: .*minibatch-std groups of 4.*e\.g\. 4 or 8$/],
  ['generate', ['--checkpoint', 'none.safetensors', '--count', '0'], /^generate: --count 0: must be an integer ≥ 1$/],
  ['fd', ['--real', 'a', '--synthetic', 'b', '--unet', 'c', '--size', '50'], /^fd: --size 50: /],
  ['domain-gap', ['--checkpoint', 'x', '--data', 'y', '--class', '4'], /^domain-gap: --class 4: must be an integer between 1 and 3$/],
  ['segment', ['--checkpoint', 'x', '--input', 'y', '--out', 'z', '--resample', 'cubic'], /^segment: --resample cubic: must be one of nearest \| area$/],
];

test('every command rejects a bad value with exit code 2 and one line (catches: a command not on the runner, a stack trace, exit 0 on a mistake)', () => {
  for (const [name, args, pattern] of BAD) {
    const r = runBench(name, args, { SRASEG_DEBUG: '' });
    const what = `${name} ${args.join(' ')}`;
    assert.is(r.code, 2, `${what}: exit code ${r.code}, stderr ${r.stderr}`);
    assert.is(r.lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
    assert.match(r.lines[0], pattern, what);
    assert.is(r.stdout, '', `${what}: nothing on stdout`);
  }
});

test('--help of a command exits 0 and prints on stdout (catches: help treated as an error)', () => {
  const r = runBench('generate', ['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^usage: node bench\/generate\.js/);
  assert.match(r.stdout, /--noise <const\|random\|none>/);
  assert.is(r.stderr, '');
});

test.run();
