// A profiling wrapper: the same backend, with the time and number of calls of every kernel
// recorded (unary and binary ops per function, e.g. `binary:add`). For `tsgrad train --profile`.

import type { Backend } from './backend.js';

export interface KernelStat {
  kernel: string;
  calls: number;
  ms: number;
}

export interface ProfiledBackend extends Backend {
  stats(): KernelStat[];
  reset(): void;
}

const NOT_KERNELS = new Set(['name', 'alloc', 'free']);

export function profiled(inner: Backend): ProfiledBackend {
  const table = new Map<string, KernelStat>();
  const record = (kernel: string, ms: number) => {
    let s = table.get(kernel);
    if (!s) table.set(kernel, (s = { kernel, calls: 0, ms: 0 }));
    s.calls++;
    s.ms += ms;
  };
  const wrapped: Record<string, unknown> = { ...inner };
  for (const [key, value] of Object.entries(inner)) {
    if (typeof value !== 'function' || NOT_KERNELS.has(key)) continue;
    const fn = value as (...args: unknown[]) => unknown;
    const named = key === 'unary' || key === 'binary' || key === 'reduce';
    wrapped[key] = (...args: unknown[]) => {
      const t = performance.now();
      const r = fn.apply(inner, args);
      record(named ? `${key}:${args[0]}` : key, performance.now() - t);
      return r;
    };
  }
  return Object.assign(wrapped as unknown as Backend, {
    name: inner.name,
    stats: () => [...table.values()].sort((a, b) => b.ms - a.ms),
    reset: () => table.clear(),
  });
}

/** A text table: kernel, calls, total ms, share of `totalMs`. */
export function formatProfile(stats: KernelStat[], totalMs: number): string[] {
  const lines = [`${'kernel'.padEnd(24)} ${'calls'.padStart(9)} ${'total ms'.padStart(11)} ${'% of time'.padStart(10)}`];
  let kernelMs = 0;
  for (const s of stats) {
    kernelMs += s.ms;
    lines.push(`${s.kernel.padEnd(24)} ${String(s.calls).padStart(9)} ${s.ms.toFixed(0).padStart(11)} ${((100 * s.ms) / totalMs).toFixed(1).padStart(9)}%`);
  }
  const other = totalMs - kernelMs;
  lines.push(`${'(outside kernels)'.padEnd(24)} ${''.padStart(9)} ${other.toFixed(0).padStart(11)} ${((100 * other) / totalMs).toFixed(1).padStart(9)}%`);
  return lines;
}
