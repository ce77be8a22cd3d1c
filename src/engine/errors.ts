// Errors whose cause is the caller's input (a weights file, a setting, the machine's setup), not the
// code. Their messages name the problem and the fix, so an application can show them as one line
// without a stack trace (the application's UserError extends InputError for the same reason).

/** The input is at fault, not the code: the message says what is wrong and what to do. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * A tensor larger than this adapter's largest storage buffer binding (128 MiB on the CPU drivers):
 * the input's shape asks for more than one buffer may hold. Callers that can split the work (the
 * StyleGAN2 trainer's rounds) catch it to name their own fix.
 */
export class BufferLimitError extends InputError {
  constructor(
    /** The op or tensor that asked. */
    readonly label: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${label}: a buffer of ${bytes.toLocaleString('en')} bytes exceeds this adapter's largest storage binding (${formatMiB(limit)}); use a smaller batch or image size`);
    this.name = 'BufferLimitError';
  }
}

/** "140.3 MiB": buffer sizes in messages. */
export const formatMiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** One tensor whose shape or dtype differs between a state dict and the module it is loaded into. */
export interface ShapeMismatch {
  key: string;
  expected: string;
  got: string;
}

/**
 * A state dict that does not fit a module: the keys the module has and the source lacks, the keys
 * the source has and the module does not, and tensors of another shape. The message summarises
 * (a few keys each and a count): a checkpoint of another model would otherwise list hundreds.
 */
export class StateDictMismatch extends InputError {
  constructor(
    readonly moduleName: string,
    readonly missingKeys: readonly string[],
    readonly unexpectedKeys: readonly string[],
    readonly mismatched: readonly ShapeMismatch[],
    source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${StateDictMismatch.summary(moduleName, missingKeys, unexpectedKeys, mismatched)}`);
    this.name = 'StateDictMismatch';
  }

  /** The same mismatch, its message prefixed with the file it came from. */
  withSource(source: string): StateDictMismatch {
    return new StateDictMismatch(this.moduleName, this.missingKeys, this.unexpectedKeys, this.mismatched, source);
  }

  static summary(moduleName: string, missing: readonly string[], unexpected: readonly string[], mismatched: readonly ShapeMismatch[]): string {
    const problems: string[] = [];
    if (missing.length) problems.push(`missing keys: ${firstFew(missing)}`);
    if (unexpected.length) problems.push(`unexpected keys: ${firstFew(unexpected)}`);
    if (mismatched.length) problems.push(`mismatched shapes: ${firstFew(mismatched.map((m) => `${m.key}: expected ${m.expected}, got ${m.got}`), '; ')}`);
    return `loadStateDict (${moduleName}): ${problems.join('. ')}`;
  }
}

/** 'a, b, c and 49 more': enough to recognise the model, short enough to read. */
function firstFew(items: readonly string[], sep = ', ', n = 3): string {
  return items.slice(0, n).join(sep) + (items.length > n ? ` and ${items.length - n} more` : '');
}
