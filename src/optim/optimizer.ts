// Optimizers update trainable tensors in place from their `.grad`, with Keras's names, defaults
// and update rules. Their state (step count, moments) can be read and restored for checkpoints.
// The updates themselves are backend kernels (fused loops over each parameter).

import { check } from '../core/errors.js';
import { getBackend, persistent } from '../tensor/engine.js';
import { tensor, zeros, type Tensor } from '../tensor/tensor.js';

export interface SGDConfig {
  learningRate?: number;
  momentum?: number;
}

export interface AdamConfig {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export type OptimizerConfig =
  | { className: 'SGD'; config: SGDConfig }
  | { className: 'Adam'; config: AdamConfig };

export interface Optimizer {
  learningRate: number;
  /** Applies one update to each parameter from its `.grad`, then clears the gradients. */
  step(params: Tensor[]): void;
  getConfig(): OptimizerConfig;
  /** Step count and per-parameter slots, named `<slot>/<index>`. */
  getState(): { iterations: number; slots: Record<string, Float32Array> };
  setState(state: { iterations: number; slots: Record<string, Float32Array> }): void;
}

function positive(name: string, v: number): number {
  check(Number.isFinite(v) && v > 0, `${name} must be a positive number, got ${v}`);
  return v;
}

/**
 * Per-parameter state (moments), created lazily with the parameter's size, in backend memory so
 * the update kernels work in place; it lives as long as the optimizer, not the step's scope.
 */
class Slots {
  private map = new Map<string, Tensor>();

  get(slot: string, index: number, size: number): Float32Array {
    const key = `${slot}/${index}`;
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = persistent(() => zeros([size]))));
    return s.data as Float32Array;
  }

  entries(): Record<string, Float32Array> {
    return Object.fromEntries([...this.map].map(([k, t]) => [k, (t.data as Float32Array).slice()]));
  }

  load(slots: Record<string, Float32Array>): void {
    this.map = new Map(Object.entries(slots).map(([k, v]) => [k, persistent(() => tensor(v))]));
  }
}

abstract class BaseOptimizer implements Optimizer {
  iterations = 0;
  protected slots = new Slots();
  abstract learningRate: number;
  abstract getConfig(): OptimizerConfig;
  protected abstract update(w: Float32Array, g: Float32Array, index: number): void;

  step(params: Tensor[]): void {
    this.iterations++;
    params.forEach((p, i) => {
      if (!p.grad) return;
      this.update(p.data as Float32Array, p.grad.data as Float32Array, i);
      p.grad = null;
    });
  }

  getState() {
    return { iterations: this.iterations, slots: this.slots.entries() };
  }

  setState(state: { iterations: number; slots: Record<string, Float32Array> }): void {
    this.iterations = state.iterations;
    this.slots.load(state.slots);
  }
}

/** w -= lr * g, or with momentum: v = momentum * v - lr * g; w += v (as Keras). */
export class SGD extends BaseOptimizer {
  learningRate: number;
  readonly momentum: number;

  constructor(c: SGDConfig = {}) {
    super();
    this.learningRate = positive('learning rate', c.learningRate ?? 0.01);
    this.momentum = c.momentum ?? 0;
    check(this.momentum >= 0 && this.momentum < 1, `momentum must be in [0, 1), got ${this.momentum}`);
  }

  protected update(w: Float32Array, g: Float32Array, index: number): void {
    const v = this.momentum === 0 ? null : this.slots.get('momentum', index, w.length);
    getBackend().sgdUpdate(w, g, v, this.learningRate, this.momentum);
  }

  getConfig(): OptimizerConfig {
    return { className: 'SGD', config: { learningRate: this.learningRate, momentum: this.momentum } };
  }
}

/** Adam with Keras's bias correction folded into the step size and epsilon outside the sqrt. */
export class Adam extends BaseOptimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(c: AdamConfig = {}) {
    super();
    this.learningRate = positive('learning rate', c.learningRate ?? 0.001);
    this.beta1 = c.beta1 ?? 0.9;
    this.beta2 = c.beta2 ?? 0.999;
    this.epsilon = positive('epsilon', c.epsilon ?? 1e-7);
    check(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1, 'Adam betas must be in [0, 1)');
  }

  protected update(w: Float32Array, g: Float32Array, index: number): void {
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const m = this.slots.get('m', index, w.length);
    const v = this.slots.get('v', index, w.length);
    const t = this.iterations;
    const alpha = (this.learningRate * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    getBackend().adamUpdate(w, g, m, v, alpha, b1, b2, eps);
  }

  getConfig(): OptimizerConfig {
    return { className: 'Adam', config: { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon } };
  }
}

export function optimizerFromConfig(c: OptimizerConfig): Optimizer {
  switch (c.className) {
    case 'SGD': return new SGD(c.config);
    case 'Adam': return new Adam(c.config);
    default: {
      const unknown: never = c;
      return check(false, `unknown optimizer ${JSON.stringify((unknown as { className?: unknown }).className)}`) as never;
    }
  }
}

export const sgd = (config?: SGDConfig) => new SGD(config);
export const adam = (config?: AdamConfig) => new Adam(config);
