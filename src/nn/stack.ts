// LayerStack: layers applied one after another, with weights, shapes and a Keras-style summary.
// The training methods (compile, fit, evaluate, predict) are added by src/train's Sequential.

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { formatShape } from '../core/shape.js';
import { inScope, isRecording, noGrad } from '../tensor/engine.js';
import { release, tidy } from '../tensor/memory.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { fusedCall } from './fusion.js';
import { layerFromConfig, serializeLayer, type AnyLayer, type LayerConfig } from './layers.js';
import { penalty } from './regularizers.js';

export interface StackConfig {
  name: string;
  layers: LayerConfig[];
}

/** A model's weight under its checkpoint name, as models list them in a fixed order. */
export interface NamedWeight {
  /** `<layer name>/<weight name>`, e.g. `conv2d_1/kernel`. */
  name: string;
  /** The weight's values (a variable when trainable). */
  value: Tensor;
  /** Whether the optimizer updates it (false for state such as batch norm's moving statistics). */
  trainable: boolean;
}

export class LayerStack {
  /** The layers, in order; each gets a Keras-style name (`dense`, `dense_1`, ...) unless it has one. */
  readonly layers: AnyLayer[];
  /** The model's name (default `sequential`). */
  readonly name: string;
  /** Output shape of each layer for a batch of one (filled by build). */
  private shapes: number[][] = [];

  constructor(layers: AnyLayer[], opts: { name?: string } = {}) {
    check(layers.length > 0, 'a model needs at least one layer');
    this.layers = layers;
    this.name = opts.name ?? 'sequential';
    // Keras-style names, numbered within this model so that checkpoints do not depend on history.
    const used = new Set(layers.map((l) => l.name).filter(Boolean));
    const counts = new Map<string, number>();
    for (const layer of layers) {
      if (layer.name) continue;
      const base = snake(layer.className);
      let name: string;
      do {
        const n = counts.get(base) ?? 0;
        counts.set(base, n + 1);
        name = n === 0 ? base : `${base}_${n}`;
      } while (used.has(name));
      used.add(name);
      layer.name = name;
    }
    check(used.size === layers.length, 'layer names must be unique within a model');
  }

  /** Whether every layer has created its weights. */
  get built(): boolean {
    return this.layers.every((l) => l.built);
  }

  /** The shape of one example (no batch axis), from the first layer's inputShape; throws when it has none. */
  get inputShape(): number[] {
    const shape = this.layers[0].config.inputShape;
    check(shape, 'the first layer needs an inputShape, e.g. conv2d({..., inputShape: [28, 28, 1]})');
    return shape;
  }

  /** Creates every layer's weights from `seed`, tracing shapes through a batch of one. */
  build(seed = 0): void {
    if (this.built) return;
    const rng = new Rng(seed);
    this.shapes = [];
    noGrad(() => tidy(() => {
      let x = zeros([1, ...this.inputShape]);
      for (const layer of this.layers) {
        layer.build(x.shape, rng);
        x = layer.call(x, false);
        this.shapes.push([...x.shape]);
      }
    }));
  }

  /**
   * The model's output for x. With `losses`, also pushes the regularization penalties onto it (as
   * scalars, Keras's `model.losses`): each regularized weight's, and each activity regularizer's on
   * its layer's output divided by the batch size.
   */
  call(x: Tensor, training = false, losses?: Tensor[]): Tensor {
    check(this.built, 'the model is not built yet: call build() or compile() first');
    const expected = this.inputShape;
    check(x.rank === expected.length + 1 && expected.every((d, i) => d === x.shape[i + 1]),
      () => `model "${this.name}" expects inputs of shape [batch, ${expected.join(', ')}], got ${formatShape(x.shape)}`);
    if (losses) {
      for (const w of this.layers.flatMap((l) => l.weights)) if (w.regularizer) losses.push(penalty(w.regularizer, w.value));
    }
    const activity = (layer: AnyLayer, y: Tensor) => {
      const r = layer.config.activityRegularizer;
      if (losses && r) losses.push(penalty(r, y).div(y.shape[0]));
      return y;
    };
    // Layers that fuse with the next run as one step (fusion.ts).
    const run = (i: number, t: Tensor): [Tensor, number] => {
      const layer = this.layers[i];
      return inScope(layer.name, () => {
        const fused = fusedCall(layer, this.layers[i + 1], t);
        return fused ? [fused, i + 2] : [activity(layer, layer.call(t, training)), i + 1];
      });
    };
    if (isRecording()) {
      for (let i = 0; i < this.layers.length;) [x, i] = run(i, x);
      return x;
    }
    // Inference keeps nothing for a backward pass: each layer runs in a tidy (its temporaries go
    // when it returns; its output and penalties stay), and each activation goes once the next
    // layer has used it, unless that layer's output shares or keeps it (a reshape, softmax's logits).
    const input = x;
    for (let i = 0; i < this.layers.length;) {
      const prev = x;
      const before = losses?.length ?? 0;
      [x, i] = tidy(() => [...run(i, prev), losses?.slice(before)] as const);
      if (prev.storage !== input.storage) release(prev, x);
    }
    return x;
  }

  /** Output shape of the model for a batch of one. */
  get outputShape(): number[] {
    check(this.built, 'the model is not built yet');
    return this.shapes[this.shapes.length - 1];
  }

  /** Every weight, trainable or not, named `<layer>/<weight>`, in layer order. */
  get weights(): NamedWeight[] {
    return this.layers.flatMap((l) => l.weights.map((w) => ({ name: `${l.name}/${w.name}`, value: w.value, trainable: w.trainable })));
  }

  /** What the optimizer updates: every weight but non-trainable state (batch norm's moving statistics). */
  get trainableWeights(): Tensor[] {
    return this.weights.filter((w) => w.trainable).map((w) => w.value);
  }

  /** Total number of weight values (trainable or not), as Keras's countParams. */
  countParams(): number {
    return this.weights.reduce((n, w) => n + w.value.size, 0);
  }

  getConfig(): StackConfig {
    return { name: this.name, layers: this.layers.map(serializeLayer) };
  }

  /** A Keras-style table of layers, output shapes and parameter counts. */
  summary(print: (line: string) => void = console.log): void {
    this.build();
    const widths = [32, 26, 12];
    const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' ').trimEnd();
    const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b + 1, -1));
    print(`Model: "${this.name}"`);
    print(rule('_'));
    print(row(['Layer (type)', 'Output Shape', 'Param #']));
    print(rule('='));
    this.layers.forEach((layer, i) => {
      const params = layer.weights.reduce((n, w) => n + w.value.size, 0);
      const shape = `(None, ${this.shapes[i].slice(1).join(', ')})`;
      print(row([`${layer.name} (${layer.className})`, shape, params.toLocaleString('en-US')]));
      print(i === this.layers.length - 1 ? rule('=') : '');
    });
    const total = this.countParams();
    const trainable = this.trainableWeights.reduce((n, w) => n + w.size, 0);
    print(`Total params: ${total.toLocaleString('en-US')} (${(total * 4 / 1024).toFixed(2)} KB)`);
    print(`Trainable params: ${trainable.toLocaleString('en-US')}`);
    print(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
    print(rule('_'));
  }
}

export function stackLayersFromConfig(config: StackConfig): AnyLayer[] {
  check(Array.isArray(config?.layers), 'model config has no layers list');
  return config.layers.map(layerFromConfig);
}

function snake(className: string): string {
  return className.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

