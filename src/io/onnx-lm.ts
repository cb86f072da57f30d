// ONNX export of the language models (the GPT and the LSTM language model): a standard opset-17
// graph from token ids "input_ids" (int64, (batch, time), as PyTorch's and Hugging Face's ONNX
// language models take them) to "logits" (float32, (batch, time, vocab)), both axes dynamic; the
// GPT takes up to `block` positions (past it the position embedding's Gather fails in the runtime).
// GPT: Gather for both embeddings (positions from Range over the input's length), per block
// LayerNormalization, one MatMul for c_attn split into q, k, v, attention as MatMul, a scale, a
// causal mask (Where over Range-made positions, so no block x block constant) and Softmax, GELU
// decomposed as tsgrad computes it (x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x³)), the tanh form;
// opset 17 has no Gelu), and the head as MatMul by the transposed token embedding (tied: stored
// once). Weights keep their GPT-2 names. LSTM: ONNX's LSTM op, Keras's gates (i, f, c, o)
// reordered to ONNX's (i, o, f, c); its activations (sigmoid, tanh, tanh) are tsgrad's defaults.
// Not for: KV caches or generation loops (the graph is one full forward pass), training graphs,
// or Sequential models (onnx.ts, whose builder and protobuf writer this uses).

import { check } from '../core/errors.js';
import type { Gpt } from '../models/gpt.js';
import type { LstmLm } from '../models/lstm-lm.js';
import type { Dense } from '../nn/core.js';
import type { LayerNormalization } from '../nn/normalization.js';
import type { LSTM } from '../nn/recurrent.js';
import type { Tensor } from '../tensor/tensor.js';
import { encodeModel, float, type Attribute, FLOAT, GraphBuilder, int, INT64, ints } from './onnx.js';

const GELU_C = 2 * Math.sqrt(2 / Math.PI); // as tsgrad's gelu kernels

/** A GPT or LSTM language model as the bytes of an `.onnx` file. */
export function exportLmOnnx(model: Gpt | LstmLm): Uint8Array {
  const g = new LmGraph(model);
  const logits = model.className === 'GPT' ? gptGraph(g, model) : lstmGraph(g, model);
  g.prefix = 'output';
  g.add('Identity', [logits], [], { output: 'logits' });
  return encodeModel(model.className, {
    nodes: g.nodes, initializers: g.initializers,
    inputs: [{ name: 'input_ids', type: INT64, dims: ['batch', 'time'] }],
    outputs: [{ name: 'logits', type: FLOAT, dims: ['batch', 'time', model.config.vocabSize] }],
  });
}

/** The builder with the model's weights by their checkpoint names, each stored once however often used. */
class LmGraph extends GraphBuilder {
  private readonly weightNames: Map<Tensor, string>;
  private readonly added = new Set<string>();

  constructor(model: Gpt | LstmLm) {
    super();
    this.weightNames = new Map(model.weights.map((w) => [w.value, w.name]));
  }

  /** A weight of the model, under its checkpoint name. */
  w(t: Tensor): string {
    const name = this.weightNames.get(t);
    check(name !== undefined, 'ONNX export: a weight that is not in the model');
    if (!this.added.has(name)) this.weight(name, [...t.shape], t, name);
    this.added.add(name);
    return name;
  }

  /** One node with one output, under the current prefix. */
  op(op: string, inputs: string[], attrs: Attribute[] = [], what = op): string {
    return this.add(op, inputs, attrs, { what })[0];
  }

  /** A float32 scalar constant. */
  scalar(name: string, v: number): string {
    return this.weight(name, [], Float32Array.of(v));
  }

  dense(d: Dense, x: string): string {
    const y = this.op('MatMul', [x, this.w(d.kernel)]);
    return d.bias ? this.op('Add', [y, this.w(d.bias)]) : y;
  }

  layerNorm(ln: LayerNormalization, x: string): string {
    return this.op('LayerNormalization', [x, this.w(ln.gamma!), this.w(ln.beta!)], [int('axis', -1), float('epsilon', ln.getConfig().epsilon!)]);
  }
}

function gptGraph(g: LmGraph, m: Gpt): string {
  const { heads, embd: C } = m.config;
  const d = C / heads;
  g.prefix = 'transformer';
  const ids = 'input_ids';
  const time = g.op('Gather', [g.op('Shape', [ids]), g.int64('time_axis', [], [1])], [int('axis', 0)], 'time'); // scalar T
  const positions = g.op('Range', [g.int64('zero', [], [0]), time, g.int64('one', [], [1])], [], 'positions'); // (T)
  // Causal mask: key j is hidden from query i when j > i. (1, T) > (T, 1) -> (T, T)
  const row = g.op('Unsqueeze', [positions, g.int64('axis0', [1], [0])], [], 'key_positions');
  const column = g.op('Unsqueeze', [positions, g.int64('axis1', [1], [1])], [], 'query_positions');
  const future = g.op('Greater', [row, column], [], 'causal_mask');
  const minusInf = g.scalar('minus_inf', -Infinity), scale = g.scalar('scale', 1 / Math.sqrt(d));
  const toHeads = g.int64('heads_shape', [4], [0, 0, heads, d]), toChannels = g.int64('channels_shape', [3], [0, 0, C]);

  g.prefix = 'transformer.wte';
  const tok = g.op('Gather', [g.w(m.wte.embeddings), ids], [int('axis', 0)]); // (B, T, C)
  g.prefix = 'transformer.wpe';
  const pos = g.op('Gather', [g.w(m.wpe.embeddings), positions], [int('axis', 0)]); // (T, C)
  g.prefix = 'transformer';
  let x = g.op('Add', [tok, pos]);
  m.h.forEach((blk, i) => {
    g.prefix = `transformer.h.${i}`;
    const a = g.layerNorm(blk.ln1, x);
    const qkv = g.dense(blk.cAttn, a); // (B, T, 3C)
    const [q, k, v] = g.add('Split', [qkv], [int('axis', 2)], { outputs: 3 }).map((t, j) => g.op('Reshape', [t, toHeads], [], `split_heads_${'qkv'[j]}`)); // each (B, T, H, d)
    const qh = g.op('Transpose', [q], [ints('perm', [0, 2, 1, 3])]); // (B, H, T, d)
    const kt = g.op('Transpose', [k], [ints('perm', [0, 2, 3, 1])]); // (B, H, d, T)
    const vh = g.op('Transpose', [v], [ints('perm', [0, 2, 1, 3])]); // (B, H, T, d)
    const scores = g.op('Mul', [g.op('MatMul', [qh, kt]), scale]); // (B, H, T, T)
    const p = g.op('Softmax', [g.op('Where', [future, minusInf, scores])], [int('axis', -1)]);
    const y = g.op('Transpose', [g.op('MatMul', [p, vh])], [ints('perm', [0, 2, 1, 3])]); // (B, H, T, d) -> (B, T, H, d)
    x = g.op('Add', [x, g.dense(blk.attnProj, g.op('Reshape', [y, toChannels], [], 'merge_heads'))]); // (B, T, C)
    const h = g.dense(blk.cFc, g.layerNorm(blk.ln2, x)); // (B, T, 4C)
    x = g.op('Add', [x, g.dense(blk.mlpProj, gelu(g, h))]);
  });
  g.prefix = 'transformer.ln_f';
  const out = g.layerNorm(m.lnF, x);
  g.prefix = 'lm_head';
  return g.op('MatMul', [out, g.op('Transpose', [g.w(m.wte.embeddings)], [ints('perm', [1, 0])])]); // tied: (B, T, C) @ wteᵀ (C, V)
}

/** tsgrad's GELU: x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x³)), which is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³))). */
function gelu(g: LmGraph, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Add', [x, g.op('Mul', [cube, g.scalar('gelu_a', 0.044715)])]);
  const gate = g.op('Sigmoid', [g.op('Mul', [inner, g.scalar('gelu_c', GELU_C)])]);
  return g.op('Mul', [x, gate], [], 'gelu');
}

// Keras's gate blocks (i, f, c, o) in ONNX's order (i, o, f, c).
const ONNX_GATES = [0, 3, 1, 2];

function lstmGraph(g: LmGraph, m: LstmLm): string {
  g.prefix = m.embedding.name;
  let x = g.op('Gather', [g.w(m.embedding.embeddings), 'input_ids'], [int('axis', 0)]); // (B, T, E)
  // ONNX Runtime's LSTM takes time first only (layout 0): (B, T, F) -> (T, B, F).
  x = g.op('Transpose', [x], [ints('perm', [1, 0, 2])], 'time_first');
  for (const lstm of m.lstms) {
    g.prefix = lstm.name;
    const c = lstm.getConfig();
    check(c.activation === 'tanh' && c.recurrentActivation === 'sigmoid' && !c.goBackwards,
      `ONNX export: layer "${lstm.name}" is not the standard LSTM (sigmoid gates, tanh, forwards)`);
    const u = c.units;
    const y = g.op('LSTM', [x, ...lstmWeights(g, lstm)], [int('hidden_size', u)]); // (T, 1, B, u)
    x = g.op('Squeeze', [y, g.int64('direction_axis', [1], [1])]); // (T, B, u)
  }
  g.prefix = m.head.name;
  x = g.op('Transpose', [x], [ints('perm', [1, 0, 2])], 'batch_first'); // (B, T, u)
  return g.dense(m.head, x); // (B, T, V)
}

/** W (1, 4u, F), R (1, 4u, u) and B (1, 8u) in ONNX's layout from Keras's kernel (F, 4u), recurrent kernel (u, 4u) and bias (4u). */
function lstmWeights(g: LmGraph, lstm: LSTM): string[] {
  const u = lstm.getConfig().units;
  const gatesFirst = (k: Tensor) => {
    const [rows] = k.shape, src = k.raw as Float32Array, out = new Float32Array(4 * u * rows);
    ONNX_GATES.forEach((gate, at) => {
      for (let j = 0; j < u; j++) for (let r = 0; r < rows; r++) out[(at * u + j) * rows + r] = src[r * 4 * u + gate * u + j];
    });
    return out;
  };
  const [features] = lstm.kernel.shape;
  const bias = new Float32Array(8 * u); // input biases, then the recurrent biases (zero: Keras has one bias)
  if (lstm.bias) ONNX_GATES.forEach((gate, at) => bias.set(lstm.bias!.raw.subarray(gate * u, (gate + 1) * u), at * u));
  return [g.weight('W', [1, 4 * u, features], gatesFirst(lstm.kernel)), g.weight('R', [1, 4 * u, u], gatesFirst(lstm.recurrentKernel)), g.weight('B', [1, 8 * u], bias)];
}
