// Errors the user can fix. Entry points print such an error as one line (its message names the
// problem and the fix) and exit with status 2; anything else is a bug and keeps its stack trace.
// They live at the root of the application so that every room (io, data, models, cli) can throw
// them without importing another room. UserError extends the engine's InputError (a weights file
// that does not fit, no adapter), so one `instanceof InputError` finds every error of either layer.
import { InputError } from './engine/index.js';

/** A problem with the user's input (an option, a file, a checkpoint): the message says what to do. */
export class UserError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A data problem the user can fix: names the file and says what to do. */
export class DataError extends UserError {
  constructor(
    readonly file: string,
    problem: string,
    fix: string,
  ) {
    super(`${file}: ${problem}. ${fix}`);
    this.name = 'DataError';
  }
}

/**
 * Training went non-finite (NaN/Inf in a loss term, the gradients or the weights). Commands print it
 * as one line and exit with status 3; nothing (checkpoint, model_best) was written after it happened.
 */
export class DivergenceError extends Error {
  constructor(
    /** The watched quantity that went first: a loss term's name, '<optimizer> gradients' or '<optimizer> weights'. */
    readonly term: string,
    /** The iteration (GAN: minibatch step), 1-based, at which it first held a non-finite value. */
    readonly iteration: number,
    message: string,
  ) {
    super(message);
    this.name = 'DivergenceError';
  }
}
