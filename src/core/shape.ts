// Shapes: sizes, strides, broadcasting and axis normalisation. Pure functions on number arrays.

import { check } from './errors.js';

/** A tensor's shape: the size of each axis, outermost first (row-major); [] for a scalar. */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy broadcasting: align trailing axes; each pair must be equal or contain a 1. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    check(da === db || da === 1 || db === 1,
      () => `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises possibly negative axes against `rank`; undefined means every axis. */
export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    check(Number.isInteger(a) && a >= -rank && a < rank, `axis ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  return [...new Set(out)].sort((x, y) => x - y);
}

/** The shape left after reducing `axes`, keeping them as 1s when `keepDims`. */
export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** Resolves one -1 in a reshape target against the element count. */
export function inferReshape(size: number, target: readonly number[]): number[] {
  const unknown = target.indexOf(-1);
  const known = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = [...target];
  if (unknown >= 0) {
    check(known > 0 && size % known === 0, () => `cannot reshape ${size} elements into ${formatShape(target)}`);
    out[unknown] = size / known;
  }
  check(sizeOf(out) === size && out.every((d) => Number.isInteger(d) && d >= 0),
    `cannot reshape ${size} elements into ${formatShape(target)}`);
  return out;
}
