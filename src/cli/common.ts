// Shared pieces of the `tsgrad` commands: number parsing for flags, the error boundary that turns
// a user's mistake into one line on stderr, and loading a model for evaluation.

import { InvalidArgumentError } from 'commander';
import { check, TsgradError } from '../core/errors.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0.');
  return n;
}

/** A number in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('expected a number in [0, 1).');
  return n;
}

/** Runs a command; a TsgradError becomes `tsgrad: message` and exit code 1, with no stack trace. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof TsgradError) {
        process.stderr.write(`tsgrad: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  };
}

/** A flag's name as typed: stopAfter -> stop-after. */
export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** --resume keeps a run's settings: fails naming any flag given besides `allowed` (`may` says what can change). */
export function checkResumeFlags(flags: object, given: (flag: string) => boolean, allowed: readonly string[], may: string): void {
  const stray = Object.keys(flags).filter((k) => given(k) && !allowed.includes(k));
  check(stray.length === 0, `--resume continues a run with its own settings; only ${may} may change (got --${stray.map(kebab).join(', --')})`);
}
