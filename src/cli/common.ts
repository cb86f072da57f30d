// Shared pieces of the `tsgrad` commands: number parsing for flags, old flag spellings kept as
// hidden aliases, the error boundary that turns a user's mistake into one line on stderr, warnings,
// and where a new run is written. Loaded by `tsgrad --help`, so it imports nothing heavy (no
// tensors, no wasm): only commander, node's path and the error type.

import { type Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
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

/** How long `tsgrad gpt train` trains when given neither --steps nor --minutes. */
export const GPT_MINUTES = 10;

/** A number in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('expected a number in [0, 1).');
  return n;
}

/** A number in (0, 1]. */
export function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1].');
  return n;
}

/**
 * An old spelling of one of `cmd`'s flags, kept so that old scripts work but hidden from --help:
 * `--batch 16` sets what `--batch-size 16` sets, parsed and checked the same way, and counts as
 * typed (an error about it names the spelling used).
 */
export function alias(cmd: Command, flags: string, target: string): Command {
  const to = cmd.options.find((o) => o.long === target);
  check(to, `alias ${flags}: ${cmd.name()} has no ${target}`);
  const from = new Option(flags, `same as ${target}`).hideHelp();
  if (to.parseArg) from.argParser(to.parseArg);
  cmd.addOption(from);
  // Commander's own listener (added with the option, so it runs first) has parsed and stored the value.
  cmd.on(`option:${from.name()}`, () => cmd.setOptionValueWithSource(to.attributeName(), cmd.getOptionValue(from.attributeName()), 'cli'));
  return cmd;
}

/** The flags a command's user typed (not defaults): for --resume's check and for the aliases. */
export const typed = (cmd: Command) => (key: string) => cmd.getOptionValueSource(key) === 'cli';

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

/** One line on stderr that does not stop the command (stdout stays clean for --json). */
export function warn(message: string): void {
  process.stderr.write(`tsgrad: warning: ${message}\n`);
}

/** A flag's name as typed: stopAfter -> stop-after. */
export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** --resume keeps a run's settings: fails naming any flag given besides `allowed` (`may` says what can change). */
export function checkResumeFlags(flags: object, given: (flag: string) => boolean, allowed: readonly string[], may: string): void {
  const stray = Object.keys(flags).filter((k) => given(k) && !allowed.includes(k));
  check(stray.length === 0, `--resume continues a run with its own settings; only ${may} may change (got --${stray.map(kebab).join(', --')})`);
}

/** Where the training commands keep their runs: --runs, --name and --out. */
export interface RunPlace {
  runs: string;
  name?: string;
  out?: string;
}

/** A new run's folder: --out as it is, else --name (or `defaultName`) under --runs. */
export function newRunDir(o: RunPlace, defaultName: string): string {
  check(o.out === undefined || o.name === undefined, '--out names the run folder itself: give --out or --name, not both');
  if (o.out !== undefined) return o.out;
  const name = o.name ?? defaultName;
  check(/^[\w.-]+$/.test(name), `--name: "${name}" may only use letters, digits, '.', '_' and '-'`);
  return path.join(o.runs, name);
}
