// The command-line layer as a module of its own (dist/cli/index.js): the runner and the option
// declarations, for the benchmarks in bench/ (they parse their few flags with parseArgsOrExit) and
// for anyone writing another command. Each command is also built on its own (dist/cli/<name>.js).
import { describeFailure } from './runner.js';
import { optionsHelp, parseOptions, type OptionSpecs, type OptionValues } from './options.js';

export { defineCommand, describeFailure, EXIT_FAILURE, EXIT_OK, EXIT_USER_ERROR, helpText, runCommand, type Command } from './runner.js';
export { defineOptions, expectation, numberProblem, optionsHelp, parseOptions, UsageError } from './options.js';
export type { BooleanOption, NumberOption, OptionSpec, OptionSpecs, OptionValues, ParseResult, StringOption } from './options.js';

/**
 * For scripts without a command object (the benchmarks): the parsed values, or — on --help — the help
 * on stdout and exit 0, or — on a mistake — one line on stderr and exit 2.
 */
export function parseArgsOrExit<const S extends OptionSpecs>(argv: readonly string[], specs: S, usage: string): OptionValues<S> {
  try {
    const parsed = parseOptions(argv, specs);
    if (!parsed.help) return parsed.values;
    process.stdout.write(`${usage}\n\n${optionsHelp(specs)}\n`);
    process.exit(0);
  } catch (e) {
    const name = /bench\/([\w-]+)\.js/.exec(usage)?.[1] ?? 'bench';
    const { code, text } = describeFailure(name, e);
    process.stderr.write(`${text}\n`);
    process.exit(code);
  }
}

