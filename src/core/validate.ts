// Schema-style checks of what tsgrad reads from outside: files (model.json, state.json, run files,
// tokenizers, TF.js folders), flags and environment variables. A `Doc` wraps a parsed value with
// where it came from, so every failure is one TsgradError line naming the file and the field:
//   model.json: layers[2].config.units must be an integer from 1 to 1048576, got "64"
// Validate everything before allocating or writing anything. Not for tensors' shapes inside the
// engine (those are checked where they are computed).

import { TsgradError } from './errors.js';

export interface Range {
  min?: number;
  max?: number;
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
};

const between = ({ min, max }: Range): string =>
  min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : max !== undefined ? ` of at most ${max}` : '';

/** A value read from `source` (a file, a flag, a variable) at `path` inside it. */
export class Doc {
  constructor(readonly value: unknown, readonly source: string, readonly path = '') {}

  /** Throws one line: `source: path message`. */
  fail(message: string): never {
    throw new TsgradError(`${this.source}: ${this.path ? `${this.path} ` : ''}${message}`);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** The field `key` of an object (or element of an array); absent fields give a Doc of undefined. */
  at(key: string | number): Doc {
    const path = typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    const v = this.value as Record<string | number, unknown> | null | undefined;
    const child = typeof v === 'object' && v !== null && Object.hasOwn(v, key) ? v[key] : undefined;
    return new Doc(child, this.source, path);
  }

  /** This Doc if the value is present, else undefined (for optional fields). */
  optional(): Doc | undefined {
    return this.present ? this : undefined;
  }

  object(): Record<string, unknown> {
    const v = this.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  }

  /** The elements, each as a Doc; at most `max` of them. */
  array({ max = 1e6 }: { max?: number } = {}): Doc[] {
    if (!Array.isArray(this.value)) this.fail(`must be an array, got ${show(this.value)}`);
    if (this.value.length > max) this.fail(`has ${this.value.length} elements, more than the ${max} allowed`);
    return this.value.map((_, i) => this.at(i));
  }

  string(choices?: readonly string[]): string {
    const v = this.value;
    if (typeof v !== 'string') this.fail(`must be a string, got ${show(v)}`);
    if (choices && !choices.includes(v)) this.fail(`must be one of ${choices.join(', ')}, got ${show(v)}`);
    return v;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`must be true or false, got ${show(this.value)}`);
    return this.value;
  }

  /** A finite number in the range. */
  number(range: Range = {}): number {
    const v = this.value;
    const ok = typeof v === 'number' && Number.isFinite(v) && (range.min === undefined || v >= range.min) && (range.max === undefined || v <= range.max);
    if (!ok) this.fail(`must be a finite number${between(range)}, got ${show(v)}`);
    return v as number;
  }

  /** A safe integer in the range. */
  int(range: Range = {}): number {
    const v = this.value;
    const ok = Number.isSafeInteger(v) && (range.min === undefined || (v as number) >= range.min) && (range.max === undefined || (v as number) <= range.max);
    if (!ok) this.fail(`must be an integer${between(range)}, got ${show(v)}`);
    return v as number;
  }

  /** A shape: at most `maxRank` integers from `min` (default 1) each, with at most `maxSize` elements in all. */
  shape({ maxRank = 8, min = 1, maxSize = 2 ** 31 - 1 }: { maxRank?: number; min?: number; maxSize?: number } = {}): number[] {
    const dims = this.array({ max: maxRank }).map((d) => d.int({ min, max: maxSize }));
    const size = dims.reduce((a, b) => a * b, 1);
    if (size > maxSize) this.fail(`[${dims.join(', ')}] has ${size} elements, more than the ${maxSize} allowed`);
    return dims;
  }
}

/** JSON text as a Doc; a syntax error is one line naming `source`. */
export function parseJson(text: string, source: string): Doc {
  try {
    return new Doc(JSON.parse(text), source);
  } catch (e) {
    throw new TsgradError(`${source}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/**
 * A number typed by a user (a flag or an environment variable): plain decimal only ("1e-3", "0.5",
 * "-2"; not "0x10", "", " 1", "Infinity"), finite, in the range, and an integer when `int`.
 */
export function parseUserNumber(text: string, what: string, { int = false, ...range }: Range & { int?: boolean } = {}): number {
  const value = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
  const ok = Number.isFinite(value) && (!int || Number.isSafeInteger(value)) && (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
  if (!ok) throw new TsgradError(`${what} must be ${int ? 'an integer' : 'a number'}${between(range)}, got ${JSON.stringify(text)}`);
  return value;
}
