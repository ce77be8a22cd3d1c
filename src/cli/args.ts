// A small, strict command-line parser: `--name value`, `--flag`, `--no-flag`; unknown options are an
// error that lists the known ones (a typo must not silently fall back to a default).

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  help: string;
}

export type Parsed = Record<string, string | number | boolean | undefined>;

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>, usage: string): Parsed {
  const out: Parsed = {};
  for (const [k, s] of Object.entries(spec)) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(helpText(spec, usage));
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'\n${helpText(spec, usage)}`);
    let name = arg.slice(2);
    let value: string | undefined;
    if (name.includes('=')) [name, value] = [name.slice(0, name.indexOf('=')), name.slice(name.indexOf('=') + 1)];
    const negated = name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean';
    const key = negated ? name.slice(3) : name;
    const s = spec[key];
    if (!s) throw new Error(`unknown option --${name}\n${helpText(spec, usage)}`);
    if (s.type === 'boolean') {
      out[key] = !negated;
      continue;
    }
    value ??= argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (s.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${value}'`);
      out[key] = n;
    } else out[key] = value;
  }
  return out;
}

export function helpText(spec: Record<string, OptionSpec>, usage: string): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const flag = s.type === 'boolean' ? `--${k}` : `--${k} <${s.type}>`;
    const def = s.default === undefined ? '' : ` (default: ${s.default})`;
    return `  ${flag.padEnd(26)} ${s.help}${def}`;
  });
  return `${usage}\n\nOptions:\n${rows.join('\n')}`;
}
