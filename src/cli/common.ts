// Shared pieces of the `tsgrad` commands: number parsing for flags, old flag spellings kept as
// hidden aliases, the error boundary that turns a user's mistake into one line on stderr, warnings,
// and where a new run is written. Loaded by `tsgrad --help`, so it imports nothing heavy (no
// tensors, no wasm): only commander, node's path and the error type.

import { type Command, CommanderError, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { parseUserNumber } from '../core/validate.js';

/** A mistake in how the command was typed (a flag, its value, an argument, an environment variable): exit code 2. */
export class UsageError extends TsgradError {}

/** What a number flag accepts: an integer or not, inclusive bounds, and exclusive ones (`above`, `below`). */
export interface NumberSpec {
  int?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** A flag's value parser: `.option('--lr <rate>', '...', number({ above: 0 }))`; the flag's name is bound by bindFlags. */
type NumberParser = ((value: string) => number) & { spec: NumberSpec };

export function number(spec: NumberSpec): NumberParser {
  return Object.assign((value: string) => userNumber(value, 'the value', spec), { spec });
}

/**
 * A number typed by a user, through core/validate's parseUserNumber (plain decimal, finite, in
 * range); bounds it cannot say (exclusive ones) are checked here, in the same words.
 */
export function userNumber(text: string, what: string, spec: NumberSpec): number {
  const { int, min, max, above, below } = spec;
  if (above === undefined && below === undefined) {
    try {
      return parseUserNumber(text, what, { int, min, max });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  let v = NaN;
  try {
    v = parseUserNumber(text, what, { int, min, max });
  } catch { /* described below, with every bound */ }
  if (Number.isNaN(v) || (above !== undefined && !(v > above)) || (below !== undefined && !(v < below))) {
    const bounds = [above !== undefined && `greater than ${above}`, min !== undefined && `at least ${min}`,
      below !== undefined && `less than ${below}`, max !== undefined && `at most ${max}`].filter(Boolean).join(' and ');
    throw new UsageError(`${what} must be ${int ? 'an integer' : 'a number'} ${bounds}, got ${JSON.stringify(text)}`);
  }
  return v;
}

export const positiveInt = (max: number) => number({ int: true, min: 1, max });
export const nonNegativeInt = (max: number) => number({ int: true, min: 0, max });
/** A finite number > 0 (and at most `max`). */
export const positiveNumber = (max?: number) => number({ above: 0, max });
export const nonNegativeNumber = (max?: number) => number({ min: 0, max });
/** A number in [0, 1). */
export const fraction = () => number({ min: 0, below: 1 });
/** A number in (0, 1]. */
export const probability = () => number({ above: 0, max: 1 });

/** How long `tsgrad gpt train` trains when given neither --steps nor --minutes. */
export const GPT_MINUTES = 10;
/** How long `tsgrad caption train` trains when given neither --steps nor --minutes. */
export const CAPTION_MINUTES = 29;
/** Test images `caption train` scores its best checkpoint on, and `caption eval`'s default. */
export const CAPTION_TEST_COUNT = 2000;
/** The captioner's encoder convolutions (models/captioner.ts CAPTIONER_DEFAULTS, which a test checks this against; importing it would load the engine). */
export const CAPTIONER_FILTERS: readonly number[] = [16, 32, 64];

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

/**
 * Runs a command once the environment is checked: every variable tsgrad reads (TSGRAD_BACKEND,
 * TSGRAD_THREADS, TSGRAD_SIMD, TSGRAD_DEBUG_MEMORY) is validated by the module that reads it,
 * here before anything runs, so a bad one is a usage error, not a surprise halfway through.
 * Errors go to main.ts's boundary (exitWithError).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const [engine, node] = await Promise.all([import('../tensor/engine.js'), import('../backend/wasm/node.js'), import('../tensor/memory.js')]);
      engine.backendFromEnvironment();
      node.defaultThreads();
      node.simdFromEnvironment();
    } catch (e) {
      throw e instanceof TsgradError ? new UsageError(e.message) : e;
    }
    await fn(...args);
  };
}

/**
 * Every command and option of `program`, recursively: number flags parse strictly with their
 * own name in the message; commander's own errors (unknown option, missing argument, bad choice)
 * are one line starting `tsgrad: ` and become exceptions that exitWithError turns into exit code 2.
 */
export function bindFlags(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({
    // "error: unknown option '--epoch'\n(Did you mean --epochs?)\n" -> one line.
    outputError: (str, write) => write(`tsgrad: ${str.replace(/^error: /, '').replace(/\n\((Did you mean [^)]*)\)/, (_, s: string) => ` (${s[0].toLowerCase()}${s.slice(1)})`).trimEnd()}\n`),
  });
  for (const o of cmd.options) {
    const spec = (o.parseArg as Partial<NumberParser> | undefined)?.spec;
    if (spec) o.argParser((value: string) => userNumber(value, o.long!, spec));
  }
  for (const sub of cmd.commands) bindFlags(sub);
}

/**
 * The one error boundary of `tsgrad`: a usage error (UsageError, commander's) exits 2, another
 * TsgradError (a bad file, a failed run) exits 1, each as one line on stderr; `--debug` adds the
 * stack. Anything else is a bug in tsgrad: its stack is printed, and it says so.
 */
export function exitWithError(e: unknown, debug: boolean): never {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2); // commander printed its line (or the help)
  if (e instanceof TsgradError) {
    process.stderr.write(`tsgrad: ${e.message.split('\n')[0]}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
  process.stderr.write(`tsgrad: internal error (a bug in tsgrad; please report it with the command that caused it):\n${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

/**
 * Checks where a command is about to write `out` (a file or a folder, `kind`), before anything is
 * written: never over or inside its own input, nor an input inside it (even with --force); an
 * existing `out` only with --force, and only when it holds what the command writes (`isOurs`),
 * so that --force never replaces an unrelated folder.
 */
export function checkOutput(out: string, o: { kind: 'file' | 'folder'; force?: boolean; inputs?: string[]; isOurs?: (out: string) => boolean; what: string }): void {
  const target = realish(out);
  for (const input of o.inputs ?? []) {
    const src = realish(input);
    check(!within(target, src) && !within(src, target),
      `--out ${out} ${target === src ? 'is' : within(target, src) ? 'is inside' : 'holds'} the input ${input}: write somewhere else`);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(out);
  } catch { /* absent: free */ }
  if (!stat) {
    const parent = path.dirname(path.resolve(out));
    let p: fs.Stats | undefined;
    try {
      p = fs.statSync(parent);
    } catch { /* created on write */ }
    check(!p || p.isDirectory(), `--out ${out}: ${parent} is a file, not a folder`);
    return;
  }
  if (o.kind === 'folder') check(stat.isDirectory(), `--out ${out} is a file, not a folder`);
  else check(!stat.isDirectory(), `--out ${out} is a folder, not a file`);
  const empty = stat.isDirectory() && fs.readdirSync(out).length === 0;
  if (empty) return;
  check(o.force, `--out ${out} already exists: give --force to replace it`);
  check(!o.isOurs || o.isOurs(out), `--out ${out} exists and is not ${o.what}: not replacing it, even with --force`);
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended (for a path not yet written). */
function realish(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realish(parent), path.basename(abs));
  }
}

/** Whether `p` is `dir` or inside it. */
const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** One line on stderr that does not stop the command (stdout stays clean for --json). */
export function warn(message: string): void {
  process.stderr.write(`tsgrad: warning: ${message}\n`);
}

/** A count with its noun, singular for one: plural(1, 'epoch') is "1 epoch", plural(2000, 'step') "2,000 steps". */
export const plural = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;

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
