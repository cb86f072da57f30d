// Embedding, as Keras: integer token ids of any shape -> rows of a learnt (inputDim, outputDim)
// table, by one gather (whose gradient is a scatter-add into the table).
// Not for: masking (maskZero), sparse gradients, or ids that are not integers.

import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { InitializerName } from './initializers.js';
import { Layer, type BaseLayerConfig } from './layer.js';
import { checkRegularizer, type Regularizer } from './regularizers.js';

/** The options of an {@link Embedding} layer, with Keras's names and defaults. */
export interface EmbeddingConfig extends BaseLayerConfig {
  /** The vocabulary size: ids are in [0, inputDim). */
  inputDim: number;
  /** The size of each embedding vector: the output's last axis. */
  outputDim: number;
  /** How the table starts (default `randomUniform`). */
  embeddingsInitializer?: InitializerName;
  /** A penalty on the table added to the training loss. */
  embeddingsRegularizer?: Regularizer;
  /** The length of the sequences, when fixed (Keras's input_length); checked if given. */
  inputLength?: number;
}

/** (...) ids -> (..., outputDim): row `id` of the table for each id. */
export class Embedding extends Layer<EmbeddingConfig> {
  readonly className = 'Embedding';
  /** The table, (inputDim, outputDim): row `id` is the vector of token `id`; created by build(). */
  embeddings!: Tensor;

  constructor(config: EmbeddingConfig) {
    for (const key of ['inputDim', 'outputDim'] as const) {
      check(Number.isInteger(config[key]) && config[key] > 0, `Embedding ${key} must be a positive integer, got ${config[key]}`);
    }
    const length = config.inputLength;
    check(length === undefined || (Number.isInteger(length) && length > 0), `Embedding inputLength must be a positive integer, got ${length}`);
    if (config.embeddingsRegularizer) checkRegularizer(config.embeddingsRegularizer);
    super(config);
  }

  override build(_inputShape: Shape, rng: Rng): void {
    const c = this.getConfig();
    this.embeddings = this.addWeight('embeddings', [c.inputDim, c.outputDim], c.embeddingsInitializer!, rng,
      { regularizer: c.embeddingsRegularizer });
    this.built = true;
  }

  call(x: Tensor): Tensor {
    const length = this.config.inputLength;
    check(length === undefined || x.shape[1] === length,
      () => `layer "${this.name}" (Embedding) expects sequences of length ${length}, got ${x.shape[1]}`);
    return this.embeddings.gather(this.ids(x), 0); // (...) -> (..., outputDim)
  }

  /**
   * x as int32 ids, each checked to be in [0, inputDim). Float inputs holding integers are accepted
   * (a Sequential feeds float32 batches, and Keras casts them too); other values are an error.
   */
  private ids(x: Tensor): Tensor {
    const n = this.config.inputDim;
    const ids = x.dtype === 'int32' ? x : tensor(Int32Array.from(x.raw), x.shape, 'int32');
    for (let i = 0; i < x.size; i++) {
      const v = x.raw[i];
      if (Number.isInteger(v) && v >= 0 && v < n) continue;
      check(false, `layer "${this.name}" (Embedding): input ${v} at position ${i} is not a token id in [0, ${n})`);
    }
    return ids;
  }

  getConfig(): EmbeddingConfig {
    const c = this.config;
    return {
      ...this.base(), inputDim: c.inputDim, outputDim: c.outputDim, embeddingsInitializer: c.embeddingsInitializer ?? 'randomUniform',
      ...(c.embeddingsRegularizer ? { embeddingsRegularizer: checkRegularizer(c.embeddingsRegularizer) } : {}),
      ...(c.inputLength !== undefined ? { inputLength: c.inputLength } : {}),
    };
  }
}
