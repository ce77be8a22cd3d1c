// Declared command-line options: one declaration per flag gives its type, default, allowed values
// (choices, integer, ranges, multiples, a custom check) and help; from it come the parser, the
// validation with one-line errors that name the flag and the fix, the --help text, and — through
// `OptionValues` — the TypeScript type of the parsed values. Accepted forms: `--name value`,
// `--name=value`, `--flag`, `--no-flag`; an unknown flag is an error (a typo must not silently fall
// back to a default), with the nearest known flag suggested.
import { UserError } from '../index.js';

interface OptionBase {
  help: string;
  /** The value's placeholder in --help ('dir', 'file', 'n'); derived from the type when absent. */
  metavar?: string;
}

export interface StringOption extends OptionBase {
  type: 'string';
  default?: string;
  /** The only values allowed (listed in --help and in the error). */
  choices?: readonly string[];
  required?: boolean;
  /** A further check: the problem (completing "--flag VALUE: …") or null. */
  check?: (value: string) => string | null;
}

export interface NumberOption extends OptionBase {
  type: 'number';
  default?: number;
  required?: boolean;
  integer?: boolean;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  above?: number;
  below?: number;
  multipleOf?: number;
  /** Why the constraint exists, shown with its error ("the UNet halves the image 4 times"). */
  why?: string;
  /** A further check: the problem (completing "--flag VALUE: …") or null. */
  check?: (value: number) => string | null;
  /** How the further check reads in --help ("a power of two"). */
  checkHelp?: string;
}

export interface BooleanOption extends OptionBase {
  type: 'boolean';
  default?: boolean;
}

export type OptionSpec = StringOption | NumberOption | BooleanOption;
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<O> = O extends { type: 'boolean' } ? boolean : O extends { type: 'number' } ? number : O extends { choices: readonly (infer C)[] } ? C : string;
type AlwaysSet<O> = O extends { type: 'boolean' } ? true : O extends { default: string | number } ? true : O extends { required: true } ? true : false;

/** The parsed values: a flag with a default (or required, or boolean) is always set, others may be undefined. */
export type OptionValues<S extends OptionSpecs> = {
  -readonly [K in keyof S]: AlwaysSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/** Keeps the literal types of a declaration (choices, 'number' …) so OptionValues can use them. */
export function defineOptions<const S extends OptionSpecs>(specs: S): S {
  return specs;
}

/** A mistake on the command line: one line naming the flag and the fix. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type ParseResult<S extends OptionSpecs> = { help: true } | { help: false; values: OptionValues<S> };

/** Parses and validates `argv` against the declarations; throws UsageError on the first mistake. */
export function parseOptions<S extends OptionSpecs>(argv: readonly string[], specs: S): ParseResult<S> {
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.type === 'boolean' ? (spec.default ?? false) : spec.default;
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument '${arg}': options start with -- (--help lists them)`);
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const negated = flag.startsWith('no-') && specs[flag.slice(3)]?.type === 'boolean';
    const name = negated ? flag.slice(3) : flag;
    const spec = specs[name];
    if (!spec) throw new UsageError(unknownFlag(flag, Object.keys(specs)));
    given.add(name);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${flag} takes no value: write --${name} or --no-${name}`);
      values[name] = !negated;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // '--out --resume' is a forgotten value, not a folder named '--resume' ('--out=--x' still works).
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value: ${expectation(spec)}`);
      raw = next;
      i++;
    }
    values[name] = spec.type === 'number' ? parseNumber(name, raw, spec) : checkString(name, raw, spec);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type !== 'boolean' && spec.required && values[name] === undefined) {
      throw new UsageError(`--${name} is required: ${spec.help}`);
    }
  }
  return { help: false, values: values as OptionValues<S> };
}

function parseNumber(name: string, raw: string, spec: NumberOption): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} ${raw}: not a number; ${expectation(spec)}`);
  const problem = numberProblem(value, spec);
  if (problem) throw new UsageError(`--${name} ${raw}: ${problem}`);
  return value;
}

/** What is wrong with `value` for `spec`, with the fix; null when it is allowed. */
export function numberProblem(value: number, spec: NumberOption): string | null {
  if (!meetsBasics(value, spec)) {
    const why = spec.why ? ` (${spec.why})` : '';
    return `must be ${expectation(spec)}${why}${suggestions(value, spec)}`;
  }
  return spec.check?.(value) ?? null;
}

function meetsBasics(value: number, spec: NumberOption): boolean {
  return (
    (!spec.integer || Number.isInteger(value)) &&
    (spec.min === undefined || value >= spec.min) &&
    (spec.max === undefined || value <= spec.max) &&
    (spec.above === undefined || value > spec.above) &&
    (spec.below === undefined || value < spec.below) &&
    (!spec.multipleOf || value % spec.multipleOf === 0)
  );
}

/** For multiples: the allowed values on either side of a rejected one (": e.g. 48 or 64"). */
function suggestions(value: number, spec: NumberOption): string {
  const m = spec.multipleOf;
  if (!m) return '';
  const lower = Math.floor(value / m) * m;
  const near = [lower, lower + m, lower + 2 * m].filter((v) => meetsBasics(v, spec) && spec.check?.(v) == null).slice(0, 2);
  return near.length ? `: e.g. ${near.join(' or ')}` : '';
}

function checkString(name: string, raw: string, spec: StringOption): string {
  if (spec.choices && !spec.choices.includes(raw)) {
    const near = closest(raw, spec.choices);
    throw new UsageError(`--${name} ${raw}: must be one of ${spec.choices.join(' | ')}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  const problem = spec.check?.(raw);
  if (problem) throw new UsageError(`--${name} ${raw}: ${problem}`);
  return raw;
}

/** "≥ 1", "> 0 and < 1", "between 0 and 1". */
function boundsText(spec: NumberOption): string {
  const lo = spec.min !== undefined ? `≥ ${spec.min}` : spec.above !== undefined ? `> ${spec.above}` : '';
  const hi = spec.max !== undefined ? `≤ ${spec.max}` : spec.below !== undefined ? `< ${spec.below}` : '';
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  return [lo, hi].filter(Boolean).join(' and ');
}

/** What an option accepts, as a phrase: "an integer ≥ 16, a multiple of 16", "one of a | b". */
export function expectation(spec: OptionSpec): string {
  if (spec.type === 'boolean') return 'a switch';
  if (spec.type === 'string') return spec.choices ? `one of ${spec.choices.join(' | ')}` : `a ${spec.metavar ?? 'value'}`;
  const parts = [spec.integer ? 'an integer' : 'a number'];
  const bounds = boundsText(spec);
  if (bounds) parts[0] += ` ${bounds}`;
  if (spec.multipleOf) parts.push(`a multiple of ${spec.multipleOf}`);
  if (spec.checkHelp) parts.push(spec.checkHelp);
  return parts.join(', ');
}

function unknownFlag(flag: string, known: readonly string[]): string {
  const near = closest(flag, known);
  return `unknown option --${flag}${near ? ` (did you mean --${near}?)` : ''}: --help lists the options`;
}

/** The known word nearest to `word` (edit distance ≤ 2 and at most a third of it, or a prefix of it), if any. */
function closest(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of known) {
    const d = k.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  // A guess must share most of the word: 'c' is not a typo of 'a'.
  return best !== null && bestD * 3 <= word.length ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The options part of --help: one line per flag with its placeholder, help, constraint and default. */
export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = spec.type === 'boolean' ? (spec.default ? `--[no-]${name}` : `--${name}`) : `--${name} <${metavar(spec)}>`;
    const notes: string[] = [];
    if (spec.type === 'number' && (spec.integer || spec.min !== undefined || spec.max !== undefined || spec.above !== undefined || spec.below !== undefined || spec.multipleOf || spec.checkHelp)) {
      notes.push(expectation(spec).replace(/^an? /, ''));
    }
    if (spec.type === 'string' && spec.choices && metavar(spec) !== spec.choices.join('|')) notes.push(expectation(spec));
    if (spec.type !== 'boolean' && spec.required) notes.push('required');
    if (spec.default !== undefined && !(spec.type === 'boolean' && spec.default === false)) notes.push(`default: ${spec.default}`);
    return `  ${flag.padEnd(28)} ${spec.help}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
  return `Options:\n${rows.join('\n')}\n  ${'--help'.padEnd(28)} show this text`;
}

function metavar(spec: StringOption | NumberOption): string {
  if (spec.metavar) return spec.metavar;
  if (spec.type === 'string') return spec.choices && spec.choices.join('|').length <= 24 ? spec.choices.join('|') : spec.choices ? 'name' : 'value';
  return spec.integer ? 'n' : 'x';
}
