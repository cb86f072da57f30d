// Errors a user can cause and fix (bad file, bad flag, bad shape). The CLI prints their message
// as one line with no stack trace; anything else is a bug in tsgrad and keeps its stack.

/**
 * An error a user can cause and fix (a bad file, flag, shape or option). The CLI prints its message
 * as one line with no stack trace; any other error is a bug in tsgrad.
 */
export class TsgradError extends Error {
  /** Always `'TsgradError'`. */
  override name = 'TsgradError';
}

/** Throws a TsgradError with `message` unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new TsgradError(typeof message === 'string' ? message : message());
}
