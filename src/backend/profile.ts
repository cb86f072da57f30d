// A profiling wrapper: the same backend, with the time and number of calls of every kernel
// recorded (unary and binary ops per function, e.g. `binary:add`; products per shape, e.g.
// `matmul 4096x128x384`; convolutions and pooling per shape, e.g. `conv2d 13x13x32 -> 11x11x64`),
// the arithmetic rate of the products and convolutions, and the same time per layer (the scope
// the kernel ran in, tensor/engine.ts inScope; a GPT's blocks summed as `h.*`). For
// `tsgrad train --profile` and `tsgrad gpt train --profile`.

import { currentScope } from '../tensor/engine.js';
import type { AttentionArgs, Backend, MatmulArgs } from './backend.js';
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
  if (kernel === 'matmul') {
    // (batch x) m x k x n, and which operand is read transposed.
    const g = args[3] as MatmulArgs;
    return `matmul ${g.batch > 1 ? `${g.batch}x ` : ''}${g.m}x${g.k}x${g.n}${g.transA ? ' Aᵀ' : ''}${g.transB ? ' Bᵀ' : ''}`;
  }
  const g = geometryOf(args);
  return g ? `${kernel} ${g.inH}x${g.inW}x${g.inC} -> ${g.outH}x${g.outW}x${g.outC}` : kernel;
}

/** Multiplies and adds of a call, counting a convolution as direct (Winograd's method does fewer). */
function flopsOf(kernel: string, args: unknown[]): number {
  if (kernel === 'matmul') {
    const g = args[3] as MatmulArgs;
    return 2 * g.batch * g.m * g.k * g.n;
  }
  if (kernel === 'attention' || kernel === 'attentionGrad') {
    // Per head, q kᵀ and p v (backward: the scores again, dy vᵀ, dq, dk, dv), each (T x T x d) or,
    // causal, half of it.
    const a = args[args.length - 1] as AttentionArgs;
    const products = kernel === 'attention' ? 2 : 5;
    return (products * 2 * a.batch * a.heads * a.time * a.time * a.d) / (a.causal ? 2 : 1);
  }
  const g = kernel.startsWith('conv2d') ? geometryOf(args) : null;
  return g ? 2 * g.batch * g.outH * g.outW * g.kH * g.kW * g.inC * g.outC : 0;
}

export interface ProfiledBackend extends Backend {
  /** Per kernel (and shape), slowest first. */
  stats(): KernelStat[];
  /** Per layer (`kernel` holds its scope, with ` backward` for its gradient's kernels), slowest first. */
  layers(): KernelStat[];
  reset(): void;
}

/** A scope's row in the per-layer table: the blocks of a GPT (`transformer.h.3.attn`) summed as `transformer.h.*.attn`. */
const layerOf = (scope: string) => scope.replace(/\.\d+(?=\.|$| )/g, '.*') || '(no layer)';

const NOT_KERNELS = new Set(['name', 'alloc', 'free', 'fusedAttention', 'fusedConvPool']);

export function profiled(inner: Backend): ProfiledBackend {
  const table = new Map<string, KernelStat>();
  const layers = new Map<string, KernelStat>();
  const add = (into: Map<string, KernelStat>, kernel: string, ms: number, flops: number) => {
    let s = into.get(kernel);
    if (!s) into.set(kernel, (s = { kernel, calls: 0, ms: 0, flops: 0 }));
    s.calls++;
    s.ms += ms;
    s.flops += flops;
  };
  const names = new Map<string, string>();
  const record = (kernel: string, ms: number, flops: number) => {
    add(table, kernel, ms, flops);
    const scope = currentScope();
    let layer = names.get(scope);
    if (layer === undefined) names.set(scope, (layer = layerOf(scope)));
    add(layers, layer, ms, flops);
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
    layers: () => [...layers.values()].sort((a, b) => b.ms - a.ms),
    reset: () => [table, layers].forEach((t) => t.clear()),
  });
}

/** A text table: kernel (or, with `title` 'layer', layer), calls, total ms, share of `totalMs`, and GFLOP/s where known. */
export function formatProfile(stats: KernelStat[], totalMs: number, title = 'kernel'): string[] {
  const width = Math.max(24, ...stats.map((s) => s.kernel.length));
  const row = (name: string, calls: string, ms: number, rate: string) =>
    `${name.padEnd(width)} ${calls.padStart(7)} ${ms.toFixed(0).padStart(9)} ${((100 * ms) / totalMs).toFixed(1).padStart(8)}% ${rate.padStart(8)}`;
  const lines = [`${title.padEnd(width)} ${'calls'.padStart(7)} ${'total ms'.padStart(9)} ${'% of time'.padStart(9)} ${'GFLOP/s'.padStart(8)}`];
  let kernelMs = 0;
  for (const s of stats) {
    kernelMs += s.ms;
    lines.push(row(s.kernel, String(s.calls), s.ms, s.flops && s.ms ? (s.flops / s.ms / 1e6).toFixed(1) : ''));
  }
  lines.push(row('(outside kernels)', '', totalMs - kernelMs, ''));
  if (title === 'kernel' && stats.some((s) => s.flops && s.kernel.startsWith('conv2d'))) {
    lines.push('GFLOP/s counts convolutions as direct ones; 3x3 layers that run by Winograd\'s method do a quarter to a third of those operations.');
    if (stats.some((s) => s.kernel.startsWith('conv2dPoolFilter'))) lines.push('conv2dPoolFilter, the filter gradient through max pooling, does the operations of the windows\' maxima only.');
  }
  return lines;
}

/** Both tables of a profiled training of `ms` milliseconds, under their headings: per kernel, then per layer. */
export function profileReport(b: ProfiledBackend, ms: number): string {
  const over = `over ${(ms / 1000).toFixed(1)}s of training`;
  return [`Time per kernel ${over}:`, ...formatProfile(b.stats(), ms), '', `Time per layer ${over} (forward, then \`backward\`):`,
    ...formatProfile(b.layers(), ms, 'layer')].join('\n') + '\n';
}
