// A profiling wrapper: the same backend, with the time and number of calls of every kernel
// recorded (unary and binary ops per function, e.g. `binary:add`; convolutions and pooling per
// shape, e.g. `conv2d 13x13x32 -> 11x11x64`), and the arithmetic rate of the products and
// convolutions. For `tsgrad train --profile`.

import type { Backend, MatmulArgs } from './backend.js';
import type { ConvGeometry } from './geometry.js';

export interface KernelStat {
  kernel: string;
  calls: number;
  ms: number;
  /** Floating-point operations over all calls, where known (products and convolutions), else 0. */
  flops: number;
}

/** The window geometry of a convolution or pooling call (its last argument), else null. */
function geometryOf(args: unknown[]): ConvGeometry | null {
  const g = args[args.length - 1];
  return typeof g === 'object' && g !== null && 'outH' in g && 'kH' in g ? (g as ConvGeometry) : null;
}

/** The table's name for a call: the kernel, with its op (`binary:add`) or its shapes per image. */
function keyOf(kernel: string, args: unknown[]): string {
  if (kernel === 'unary' || kernel === 'binary' || kernel === 'reduce') return `${kernel}:${args[0]}`;
  const g = geometryOf(args);
  return g ? `${kernel} ${g.inH}x${g.inW}x${g.inC} -> ${g.outH}x${g.outW}x${g.outC}` : kernel;
}

/** Multiplies and adds of a call, counting a convolution as direct (Winograd's method does fewer). */
function flopsOf(kernel: string, args: unknown[]): number {
  if (kernel === 'matmul') {
    const g = args[3] as MatmulArgs;
    return 2 * g.batch * g.m * g.k * g.n;
  }
  const g = kernel.startsWith('conv2d') ? geometryOf(args) : null;
  return g ? 2 * g.batch * g.outH * g.outW * g.kH * g.kW * g.inC * g.outC : 0;
}

export interface ProfiledBackend extends Backend {
  stats(): KernelStat[];
  reset(): void;
}

const NOT_KERNELS = new Set(['name', 'alloc', 'free']);

export function profiled(inner: Backend): ProfiledBackend {
  const table = new Map<string, KernelStat>();
  const record = (kernel: string, ms: number, flops: number) => {
    let s = table.get(kernel);
    if (!s) table.set(kernel, (s = { kernel, calls: 0, ms: 0, flops: 0 }));
    s.calls++;
    s.ms += ms;
    s.flops += flops;
  };
  const wrapped: Record<string, unknown> = { ...inner };
  for (const [key, value] of Object.entries(inner)) {
    if (typeof value !== 'function' || NOT_KERNELS.has(key)) continue;
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[key] = (...args: unknown[]) => {
      const t = performance.now();
      const r = fn.apply(inner, args);
      record(keyOf(key, args), performance.now() - t, flopsOf(key, args));
      return r;
    };
  }
  return Object.assign(wrapped as unknown as Backend, {
    name: inner.name,
    stats: () => [...table.values()].sort((a, b) => b.ms - a.ms),
    reset: () => table.clear(),
  });
}

/** A text table: kernel, calls, total ms, share of `totalMs`, and GFLOP/s where known. */
export function formatProfile(stats: KernelStat[], totalMs: number): string[] {
  const width = Math.max(24, ...stats.map((s) => s.kernel.length));
  const row = (name: string, calls: string, ms: number, rate: string) =>
    `${name.padEnd(width)} ${calls.padStart(7)} ${ms.toFixed(0).padStart(9)} ${((100 * ms) / totalMs).toFixed(1).padStart(8)}% ${rate.padStart(8)}`;
  const lines = [`${'kernel'.padEnd(width)} ${'calls'.padStart(7)} ${'total ms'.padStart(9)} ${'% of time'.padStart(9)} ${'GFLOP/s'.padStart(8)}`];
  let kernelMs = 0;
  for (const s of stats) {
    kernelMs += s.ms;
    lines.push(row(s.kernel, String(s.calls), s.ms, s.flops && s.ms ? (s.flops / s.ms / 1e6).toFixed(1) : ''));
  }
  lines.push(row('(outside kernels)', '', totalMs - kernelMs, ''));
  if (stats.some((s) => s.flops && s.kernel.startsWith('conv2d'))) {
    lines.push('GFLOP/s counts convolutions as direct ones; 3x3 layers that run by Winograd\'s method do a quarter to a third of those operations.');
  }
  return lines;
}
