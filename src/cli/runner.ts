// The one runner every command uses: parse and validate the declared options, run the command's
// own cross-option checks, run it, and end the process the same way everywhere:
//   0  success;
//   2  a mistake the user can fix (a flag, a file, a checkpoint: InputError, which UserError extends):
//      one line "<command>: <message>", never a stack trace (SRASEG_DEBUG=1 shows it);
//   3  the training diverged (DivergenceError: NaN/Inf in a loss, the gradients or the weights): one
//      line naming the term and the iteration; nothing was saved after it;
//   1  anything else, a bug: printed with its stack.
// The GPU device is shut down on every path, so Node can exit. Commands import the library through
// its public index only (src/index.ts); build.mjs bundles each into dist/cli/<name>.js against
// dist/index.js, and bench/<name>.js imports that file.
import { DivergenceError, InputError, kernelApi, shutdown } from '../index.js';
import { defineOptions, optionsHelp, parseOptions, type OptionSpecs, type OptionValues } from './options.js';

export interface Command<S extends OptionSpecs> {
  /** As the user types it: 'train-acdc' (bench/train-acdc.js). */
  name: string;
  /** The usage line after 'usage: '. */
  usage: string;
  /** What the command does, a few lines for --help. */
  description: string;
  options: S;
  /** Checks that involve several flags; throw UsageError/UserError naming them. Runs before anything starts. */
  check?: (args: OptionValues<S>) => void;
  run: (args: OptionValues<S>) => Promise<void>;
}

/** Keeps the options' literal types, so `check` and `run` receive typed values. */
export function defineCommand<const S extends OptionSpecs>(command: Command<S>): Command<S> {
  defineOptions(command.options);
  return command;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USER_ERROR = 2;
export const EXIT_DIVERGED = 3;

/** The full --help text of a command, generated from its declarations. */
export function helpText(command: Command<OptionSpecs>): string {
  return `usage: ${command.usage}\n\n${command.description.trim()}\n\n${optionsHelp(command.options)}\n`;
}

/** How an error ends the process: its exit code and what to print. */
export function describeFailure(name: string, error: unknown, debug = Boolean(process.env.SRASEG_DEBUG)): { code: number; text: string } {
  if (error instanceof InputError) {
    return { code: EXIT_USER_ERROR, text: debug ? String(error.stack) : `${name}: ${error.message}` };
  }
  if (error instanceof DivergenceError) {
    return { code: EXIT_DIVERGED, text: debug ? String(error.stack) : `${name}: ${error.message}` };
  }
  const text = error instanceof Error ? String(error.stack ?? error) : `${name}: ${String(error)}`;
  return { code: EXIT_FAILURE, text };
}

/** Parses `argv`, runs the command, and exits with 0, 1 or 2 (see the header of this file). */
export async function runCommand<S extends OptionSpecs>(command: Command<S>, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const fail = async (error: unknown): Promise<never> => {
    const { code, text } = describeFailure(command.name, error);
    process.stderr.write(`${text}\n`);
    await shutdown().catch(() => undefined);
    process.exit(code);
  };
  // Errors thrown outside the awaited chain (a callback, a timer) end the run the same way.
  process.on('uncaughtException', (e) => void fail(e));

  let args: OptionValues<S>;
  try {
    const parsed = parseOptions(argv, command.options);
    if (parsed.help) {
      process.stdout.write(helpText(command as unknown as Command<OptionSpecs>));
      return;
    }
    kernelApi.gpuKernelsFromEnv(); // a bad SRASEG_GPU_KERNELS or SRASEG_F16 fails here, before any work
    kernelApi.f16StagingFromEnv();
    command.check?.(parsed.values);
    args = parsed.values;
  } catch (e) {
    return fail(e);
  }
  try {
    await command.run(args);
  } catch (e) {
    return fail(e);
  }
  await shutdown();
  process.exitCode = EXIT_OK;
}
