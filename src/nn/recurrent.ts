// LSTM, as Keras: the weights in Keras's layout and names (kernel (F, 4u), recurrent_kernel (u, 4u),
// bias (4u), gates in the order i, f, c, o), so weights move to and from Keras and TensorFlow.js
// unchanged. Built from primitives, so autograd gives backpropagation through time.
// The input projection of every time step is one matmul; only h @ recurrent_kernel is per step.
// Time steps are split off and stacked back by halving (slice / pad), O(T log T) copies in both
// passes, where slicing each step off the whole sequence (or concatenating T padded steps) costs
// O(T²) in the backward pass: each slice's gradient is a sequence-sized pad.
// Not for: masking, dropout, stateful layers, cuDNN-style fused kernels.

import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { formatShape, type Shape } from '../core/shape.js';
import { activate, type ActivationName } from '../ops/activations.js';
import { split, stack, unstack } from '../ops/arrays.js';
import type { Tensor } from '../tensor/tensor.js';
import type { InitializerName } from './initializers.js';
import { Layer, type BaseLayerConfig } from './layer.js';
import { checkRegularizer, regularizers, type Regularizer } from './regularizers.js';

/** The options of an {@link LSTM} layer, with Keras's names and defaults. */
export interface LSTMConfig extends BaseLayerConfig {
  /** The size of the state h and c, and of each output step. */
  units: number;
  /** Of the candidate cell state and of the output's cell state. */
  activation?: ActivationName;
  /** Of the input, forget and output gates. */
  recurrentActivation?: ActivationName;
  /** Whether to add a learnt bias (default true). */
  useBias?: boolean;
  /** Starts the forget gate's bias at 1 (Jozefowicz et al. 2015), as Keras. */
  unitForgetBias?: boolean;
  /** How the input kernel starts (default `glorotUniform`). */
  kernelInitializer?: InitializerName;
  /** How the recurrent kernel starts (default `orthogonal`). */
  recurrentInitializer?: InitializerName;
  /** How the bias starts (default `zeros`, then the forget gate's part set to 1 with unitForgetBias). */
  biasInitializer?: InitializerName;
  /** A penalty on the input kernel added to the training loss. */
  kernelRegularizer?: Regularizer;
  /** A penalty on the recurrent kernel added to the training loss. */
  recurrentRegularizer?: Regularizer;
  /** A penalty on the bias added to the training loss. */
  biasRegularizer?: Regularizer;
  /** Outputs h at every step, (B, T, units), instead of the last one, (B, units). */
  returnSequences?: boolean;
  /** Reads the sequence from its end; the returned sequence is in that (reversed) order, as Keras. */
  goBackwards?: boolean;
}

/** The recurrent state after a sequence: the last output h and cell state c, both (B, units). */
export interface LSTMState {
  h: Tensor;
  c: Tensor;
}

/**
 * Per step t: z = x_t @ kernel + h @ recurrent_kernel + bias, split into i, f, c~, o;
 * c = f * c + i * c~ with i, f, o through the recurrent activation and c~ through the activation;
 * h = o * activation(c). The state starts at zero.
 */
export class LSTM extends Layer<LSTMConfig> {
  readonly className = 'LSTM';
  /** The input kernel, (F, 4u) for F input features and u units, gates in the order i, f, c, o; created by build(). */
  kernel!: Tensor;
  /** The recurrent kernel (Keras's `recurrent_kernel`), (u, 4u), gates in the same order. */
  recurrentKernel!: Tensor;
  /** The bias, (4u); null with `useBias: false`. */
  bias: Tensor | null = null;

  constructor(config: LSTMConfig) {
    check(Number.isInteger(config.units) && config.units > 0, `LSTM units must be a positive integer, got ${config.units}`);
    super(config);
    this.getConfig(); // checks the regularizers now, not at build
  }

  override build(inputShape: Shape, rng: Rng): void {
    check(inputShape.length === 3, () => `LSTM expects (batch, time, features) inputs, got ${formatShape(inputShape)}`);
    const c = this.getConfig();
    const u = c.units;
    this.kernel = this.addWeight('kernel', [inputShape[2], 4 * u], c.kernelInitializer!, rng, { regularizer: c.kernelRegularizer });
    this.recurrentKernel = this.addWeight('recurrent_kernel', [u, 4 * u], c.recurrentInitializer!, rng, { regularizer: c.recurrentRegularizer });
    if (c.useBias) {
      this.bias = this.addWeight('bias', [4 * u], c.biasInitializer!, rng, { regularizer: c.biasRegularizer });
      if (c.unitForgetBias) this.bias.raw.fill(1, u, 2 * u);
    }
    this.built = true;
  }

  call(x: Tensor): Tensor {
    return this.run(x).output;
  }

  /**
   * The layer's output for x (B, T, F), and the state after the last step (Keras's return_state).
   * `initial` continues from an earlier state, e.g. when generating one step at a time.
   */
  run(x: Tensor, initial?: LSTMState): {
    /** What call(x) returns: (B, T, units) with returnSequences, else (B, units). */
    output: Tensor;
    /** The state after the last step, to continue from. */
    state: LSTMState;
  } {
    const c = this.getConfig();
    const u = c.units;
    check(x.rank === 3 && x.shape[2] === this.kernel.shape[0],
      () => `layer "${this.name}" (LSTM) expects (batch, time, ${this.kernel.shape[0]}) inputs, got ${formatShape(x.shape)}`);
    const [b, t, f] = x.shape;
    check(t > 0, `layer "${this.name}" (LSTM) needs at least one time step`);
    // (B, T, F) -> (B * T, F) @ (F, 4u) -> (B, T, 4u), the bias added once for all steps.
    let xw = x.reshape([b * t, f]).matmul(this.kernel);
    if (this.bias) xw = xw.add(this.bias);
    const steps = unstack(xw.reshape([b, t, 4 * u]), 1); // T of (B, 4u)
    if (c.goBackwards) steps.reverse();
    let h = initial?.h ?? null; // (B, u); null is the zero state
    let cell = initial?.c ?? null; // (B, u)
    const outputs: Tensor[] = [];
    for (const step of steps) {
      const z = h ? step.add(h.matmul(this.recurrentKernel)) : step; // (B, 4u)
      const [i, fg, g, o] = split(z, 4, 1).map((zk, k) => activate(k === 2 ? c.activation! : c.recurrentActivation!, zk)); // 4 of (B, u)
      cell = cell ? fg.mul(cell).add(i.mul(g)) : i.mul(g);
      h = o.mul(activate(c.activation!, cell));
      if (c.returnSequences) outputs.push(h);
    }
    return { output: c.returnSequences ? stack(outputs, 1) : h!, state: { h: h!, c: cell! } };
  }

  getConfig(): LSTMConfig {
    const c = this.config;
    return {
      ...this.base(), units: c.units, activation: c.activation ?? 'tanh', recurrentActivation: c.recurrentActivation ?? 'sigmoid',
      useBias: c.useBias ?? true, unitForgetBias: c.unitForgetBias ?? true,
      kernelInitializer: c.kernelInitializer ?? 'glorotUniform', recurrentInitializer: c.recurrentInitializer ?? 'orthogonal',
      biasInitializer: c.biasInitializer ?? 'zeros', ...regularizers(c),
      ...(c.recurrentRegularizer ? { recurrentRegularizer: checkRegularizer(c.recurrentRegularizer) } : {}),
      returnSequences: c.returnSequences ?? false, goBackwards: c.goBackwards ?? false,
    };
  }
}
