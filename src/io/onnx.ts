// ONNX export: a model's layers as a standard ONNX ModelProto (IR version 8, opset 17) that
// onnxruntime and other ONNX runtimes run, serialised by a small protobuf writer (no dependency).
// The graph takes "input" (float32, [batch, ...inputShape], channels last as tsgrad and Keras)
// and gives "output". ONNX's Conv and pooling ops are channels-first, so the exporter transposes
// to NCHW once, before the first op that needs it, stays there through the convolutional part,
// and transposes back before anything that reads the channels-last order (Flatten, Dense, the
// output): the flattened features then come in Keras's order and Dense kernels need no shuffling.
// The graph builder and the protobuf writer here also serve the language models' graphs (onnx-lm.ts).
// Not for: importing ONNX, training graphs, or layers outside tsgrad's closed set.

import fs from 'node:fs';
import path from 'node:path';
import { windowGeometry, type ConvGeometry } from '../backend/geometry.js';
import { check, TsgradError } from '../core/errors.js';
import { writeFileAtomic } from './files.js';
import type { ActivationName } from '../ops/activations.js';
import type { Tensor } from '../tensor/tensor.js';
import { pair } from '../nn/convolutional.js';
import type { AnyLayer } from '../nn/layers.js';
import type { LayerStack } from '../nn/stack.js';

const IR_VERSION = 8;
const OPSET = 17;
export const FLOAT = 1; // TensorProto.DataType.FLOAT
export const INT64 = 7; // TensorProto.DataType.INT64

/**
 * The model as the bytes of an `.onnx` file. Takes a LayerStack, so any Sequential (src/io sits
 * below src/train and does not import it); an unbuilt model is built first, as predict() does.
 */
export function exportOnnx(model: LayerStack): Uint8Array {
  model.build();
  const g = new Graph([1, ...model.inputShape]);
  for (const layer of model.layers) emitLayer(g, layer);
  return encodeModel(model.name, g.finish());
}

/** Writes the ONNX file atomically: a temporary file in the same folder, then a rename. */
export function saveOnnx(model: LayerStack, file: string): void {
  const bytes = exportOnnx(model);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new TsgradError(`cannot write ${file}: ${(e as Error).message}`);
  }
  writeFileAtomic(file, bytes);
}

// ---------------------------------------------------------------------------------------------
// Layers to nodes

function emitLayer(g: Graph, layer: AnyLayer): void {
  g.prefix = layer.name;
  switch (layer.className) {
    case 'Conv2D': {
      const c = layer.getConfig();
      const [kh, kw] = pair(c.kernelSize);
      const geo = windowGeometry(g.shape, kh, kw, c.filters, pair(c.strides!), c.padding!);
      g.toChannelsFirst();
      // (kh, kw, in, out) -> (out, in, kh, kw)
      const [, , inC, outC] = layer.kernel.shape;
      const k = layer.kernel.raw, w = new Float32Array(k.length);
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < inC; ci++) for (let co = 0; co < outC; co++) {
        w[((co * inC + ci) * kh + i) * kw + j] = k[((i * kw + j) * inC + ci) * outC + co];
      }
      const inputs = [g.x, g.weight('kernel', [outC, inC, kh, kw], w)];
      if (layer.bias) inputs.push(g.weight('bias', [outC], layer.bias));
      g.node('Conv', inputs, [ints('kernel_shape', [kh, kw]), ints('strides', [geo.strideH, geo.strideW]), ints('pads', pads(geo))],
        [geo.batch, geo.outH, geo.outW, outC]);
      activation(g, layer, c.activation!);
      return;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const c = layer.getConfig();
      const [ph, pw] = pair(c.poolSize!);
      const geo = windowGeometry(g.shape, ph, pw, undefined, pair(c.strides!), c.padding!);
      g.toChannelsFirst();
      const attrs = [ints('kernel_shape', [ph, pw]), ints('strides', [geo.strideH, geo.strideW]), ints('pads', pads(geo))];
      // tsgrad (as TensorFlow) averages over the real pixels of a border window only.
      if (layer.className === 'AveragePooling2D') attrs.push(int('count_include_pad', 0));
      g.node(layer.className === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [g.x], attrs, [geo.batch, geo.outH, geo.outW, geo.outC]);
      return;
    }
    case 'GlobalAveragePooling2D': {
      const [n, , , ch] = g.shape;
      g.toChannelsFirst();
      g.node('GlobalAveragePool', [g.x], [], [n, 1, 1, ch]); // (N, C, 1, 1)
      if (!layer.getConfig().keepdims) g.node('Flatten', [g.x], [int('axis', 1)], [n, ch]);
      return;
    }
    case 'Flatten': {
      g.toChannelsLast();
      g.node('Flatten', [g.x], [int('axis', 1)], [g.shape[0], g.shape.slice(1).reduce((a, b) => a * b, 1)]);
      return;
    }
    case 'Dense': {
      const c = layer.getConfig();
      g.toChannelsLast(); // MatMul contracts the last axis, as Dense
      const shape = [...g.shape.slice(0, -1), c.units];
      g.node('MatMul', [g.x, g.weight('kernel', [...layer.kernel.shape], layer.kernel)], [], shape);
      if (layer.bias) g.node('Add', [g.x, g.weight('bias', [c.units], layer.bias)], [], shape);
      activation(g, layer, c.activation!);
      return;
    }
    case 'BatchNormalization': {
      const c = layer.getConfig();
      const ch = g.shape[g.shape.length - 1];
      g.toChannelsFirst(); // ONNX normalises axis 1
      const gamma = layer.gamma ?? new Float32Array(ch).fill(1), beta = layer.beta ?? new Float32Array(ch);
      g.node('BatchNormalization', [
        g.x, g.weight('gamma', [ch], gamma), g.weight('beta', [ch], beta),
        g.weight('moving_mean', [ch], layer.movingMean), g.weight('moving_variance', [ch], layer.movingVariance),
      ], [float('epsilon', c.epsilon!)], g.shape);
      return;
    }
    case 'Embedding': {
      const c = layer.getConfig();
      g.toChannelsLast();
      const shape = g.shape;
      g.node('Cast', [g.x], [int('to', INT64)], shape); // ids arrive as float32, as in tsgrad's Sequential
      g.node('Gather', [g.weight('embeddings', [c.inputDim, c.outputDim], layer.embeddings), g.x], [int('axis', 0)], [...shape, c.outputDim]);
      return;
    }
    case 'LayerNormalization': {
      const c = layer.getConfig();
      const ch = g.shape[g.shape.length - 1];
      g.toChannelsLast(); // normalises the last axis
      g.node('LayerNormalization', [
        g.x, g.weight('gamma', [ch], layer.gamma ?? new Float32Array(ch).fill(1)), g.weight('beta', [ch], layer.beta ?? new Float32Array(ch)),
      ], [int('axis', -1), float('epsilon', c.epsilon!)], g.shape);
      return;
    }
    case 'LSTM':
      throw new TsgradError(`ONNX export does not support layer "${layer.name}" of type "LSTM" yet (export it to TensorFlow.js instead)`);
    case 'Activation':
      activation(g, layer, layer.getConfig().activation);
      return;
    case 'Dropout':
      return; // the identity in inference
    default: {
      const unknown: never = layer;
      const { className, name } = unknown as { className?: unknown; name?: unknown };
      throw new TsgradError(`ONNX export does not support layer "${name}" of type ${JSON.stringify(className)} (it exports Conv2D, `
        + 'MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, LayerNormalization, Embedding, Dropout, Activation, Flatten, Dense)');
    }
  }
}

function activation(g: Graph, layer: AnyLayer, name: ActivationName): void {
  const op = (type: string, attrs: Attribute[] = []) => g.node(type, [g.x], attrs, g.shape);
  switch (name) {
    case 'linear': return;
    case 'relu': return op('Relu');
    case 'sigmoid': return op('Sigmoid');
    case 'tanh': return op('Tanh');
    // Over the channels, tsgrad's last axis: axis 1 while the graph is channels-first.
    case 'softmax': return op('Softmax', [int('axis', g.channelsFirst ? 1 : g.shape.length - 1)]);
    default: {
      const unknown: never = name;
      throw new TsgradError(`ONNX export does not support activation ${JSON.stringify(unknown)} on layer "${layer.name}" `
        + '(it exports linear, relu, sigmoid, tanh, softmax)');
    }
  }
}

/** ONNX's [top, left, bottom, right] for a window geometry; 'same' puts the odd pixel at the bottom/right. */
function pads(geo: ConvGeometry): number[] {
  const bottom = Math.max(0, (geo.outH - 1) * geo.strideH + geo.kH - geo.inH - geo.padTop);
  const right = Math.max(0, (geo.outW - 1) * geo.strideW + geo.kW - geo.inW - geo.padLeft);
  return [geo.padTop, geo.padLeft, bottom, right];
}

// ---------------------------------------------------------------------------------------------
// The graph being built

export type Attribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'ints'; value: number[] };

export const int = (name: string, value: number): Attribute => ({ name, type: 'int', value });
export const float = (name: string, value: number): Attribute => ({ name, type: 'float', value });
export const ints = (name: string, value: number[]): Attribute => ({ name, type: 'ints', value });

interface OnnxNode { op: string; name: string; inputs: string[]; outputs: string[]; attrs: Attribute[] }
interface Initializer { name: string; dims: number[]; data: Float32Array | BigInt64Array }
/** A graph input or output: its element type (FLOAT, INT64) and dims, a string dim being symbolic. */
export interface ValueInfo { name: string; type: typeof FLOAT | typeof INT64; dims: (number | string)[] }
export interface OnnxGraph { nodes: OnnxNode[]; initializers: Initializer[]; inputs: ValueInfo[]; outputs: ValueInfo[] }

/** Nodes and constants of a graph being built, named under the current prefix (a layer's or module's name). */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];
  prefix = '';
  private readonly names = new Set<string>();

  /** Appends a node; returns its outputs, named `<prefix>/<what>` (`:1`, `:2`... after the first), or `output` for the graph's. */
  add(op: string, inputs: string[], attrs: Attribute[] = [], o: { what?: string; outputs?: number; output?: string } = {}): string[] {
    const what = o.what ?? op;
    let name = `${this.prefix}/${what}`;
    for (let i = 1; this.names.has(name); i++) name = `${this.prefix}/${what}_${i}`;
    this.names.add(name);
    const outputs = Array.from({ length: o.outputs ?? 1 }, (_, i) => (i === 0 ? o.output ?? name : `${name}:${i}`));
    this.nodes.push({ op, name, inputs, outputs, attrs });
    return outputs;
  }

  /** Adds a float32 constant under `<prefix>/<name>` (tsgrad's weight name), or under `full` exactly; returns its name. */
  weight(name: string, dims: number[], value: Tensor | Float32Array, full = `${this.prefix}/${name}`): string {
    const data = value instanceof Float32Array ? value : value.raw;
    check(data instanceof Float32Array, `ONNX export: weight ${full} is not float32`);
    this.initializers.push({ name: full, dims, data });
    return full;
  }

  /** An int64 constant (shapes, axes, indices) under `<prefix>/<name>`; dims [] is a scalar. */
  int64(name: string, dims: number[], values: number[]): string {
    const full = `${this.prefix}/${name}`;
    this.initializers.push({ name: full, dims, data: BigInt64Array.from(values, BigInt) });
    return full;
  }
}

/** A Sequential's graph: one current value, followed through the layers with its layout. */
class Graph extends GraphBuilder {
  /** The name of the current value. */
  x = 'input';
  /** Its shape in tsgrad's (channels-last) terms, for a batch of one. */
  shape: number[];
  /** Whether the value is stored channels-first: (N, C, ...) for tsgrad's (N, ..., C). */
  channelsFirst = false;
  private readonly inputShape: number[];

  constructor(inputShape: number[]) {
    super();
    this.inputShape = inputShape;
    this.shape = inputShape;
  }

  /** Appends a node on the current value(s); its output becomes the current value, of tsgrad shape `shape`. */
  node(op: string, inputs: string[], attrs: Attribute[], shape: number[], what = op): void {
    [this.x] = this.add(op, inputs, attrs, { what });
    this.shape = shape;
    if (shape.length <= 2) this.channelsFirst = false; // (N, C): both orders are the same
  }

  /** (N, ..., C) -> (N, C, ...), once, before the first op that needs channels first. */
  toChannelsFirst(): void {
    const r = this.shape.length;
    if (this.channelsFirst || r <= 2) return;
    this.node('Transpose', [this.x], [ints('perm', [0, r - 1, ...range(1, r - 1)])], this.shape, 'to_channels_first');
    this.channelsFirst = true;
  }

  /** (N, C, ...) -> (N, ..., C), before anything that reads tsgrad's element order. */
  toChannelsLast(): void {
    const r = this.shape.length;
    if (!this.channelsFirst) return;
    this.node('Transpose', [this.x], [ints('perm', [0, ...range(2, r), 1])], this.shape, 'to_channels_last');
    this.channelsFirst = false;
  }

  finish(): OnnxGraph {
    this.toChannelsLast();
    if (this.nodes.length === 0) this.node('Identity', [this.x], [], this.shape);
    this.nodes[this.nodes.length - 1].outputs[0] = 'output';
    return {
      nodes: this.nodes, initializers: this.initializers,
      inputs: [{ name: 'input', type: FLOAT, dims: ['batch', ...this.inputShape.slice(1)] }],
      outputs: [{ name: 'output', type: FLOAT, dims: ['batch', ...this.shape.slice(1)] }],
    };
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

// ---------------------------------------------------------------------------------------------
// Protobuf encoding. Field numbers are onnx.proto's; repeated scalars are written unpacked, as
// proto2 (which onnx.proto uses) does; float tensors go in raw_data as little-endian float32.

/** A graph as the bytes of an `.onnx` file (a ModelProto). */
export function encodeModel(name: string, g: OnnxGraph): Uint8Array {
  const graph = new Proto();
  for (const n of g.nodes) graph.message(1, encodeNode(n)); // GraphProto.node
  graph.string(2, name); // GraphProto.name
  for (const t of g.initializers) graph.message(5, encodeTensor(t)); // GraphProto.initializer
  for (const v of g.inputs) graph.message(11, encodeValueInfo(v)); // GraphProto.input
  for (const v of g.outputs) graph.message(12, encodeValueInfo(v)); // GraphProto.output
  const opset = new Proto().varint(2, OPSET); // OperatorSetIdProto.version; domain "" = ai.onnx
  return new Proto()
    .varint(1, IR_VERSION) // ModelProto.ir_version
    .string(2, 'tsgrad') // ModelProto.producer_name
    .message(7, graph) // ModelProto.graph
    .message(8, opset) // ModelProto.opset_import
    .finish();
}

function encodeNode(n: OnnxNode): Proto {
  const p = new Proto();
  for (const i of n.inputs) p.string(1, i); // NodeProto.input
  for (const o of n.outputs) p.string(2, o); // NodeProto.output
  p.string(3, n.name).string(4, n.op); // name, op_type
  for (const a of n.attrs) p.message(5, encodeAttribute(a)); // NodeProto.attribute
  return p;
}

function encodeAttribute(a: Attribute): Proto {
  const p = new Proto().string(1, a.name); // AttributeProto.name
  switch (a.type) {
    case 'float': return p.varint(20, 1).float(2, a.value); // type FLOAT, f
    case 'int': return p.varint(20, 2).varint(3, a.value); // type INT, i
    case 'ints': // type INTS, ints
      p.varint(20, 7);
      for (const v of a.value) p.varint(8, v);
      return p;
    default: {
      const unknown: never = a;
      throw new Error(`unknown attribute type ${JSON.stringify(unknown)}`);
    }
  }
}

function encodeTensor(t: Initializer): Proto {
  const p = new Proto();
  for (const d of t.dims) p.varint(1, d); // TensorProto.dims
  const d = t.data;
  const raw = new Uint8Array(d.length * d.BYTES_PER_ELEMENT);
  const view = new DataView(raw.buffer);
  if (d instanceof Float32Array) for (let i = 0; i < d.length; i++) view.setFloat32(i * 4, d[i], true);
  else for (let i = 0; i < d.length; i++) view.setBigInt64(i * 8, d[i], true);
  return p.varint(2, d instanceof Float32Array ? FLOAT : INT64).string(8, t.name).bytes(9, raw); // data_type, name, raw_data
}

/** ValueInfoProto of a tensor; string dims are symbolic (dim_param). */
function encodeValueInfo({ name, type: elemType, dims }: ValueInfo): Proto {
  const shape = new Proto();
  for (const d of dims) {
    const dim = typeof d === 'string' ? new Proto().string(2, d) : new Proto().varint(1, d); // dim_param / dim_value
    shape.message(1, dim); // TensorShapeProto.dim
  }
  const tensorType = new Proto().varint(1, elemType).message(2, shape); // TypeProto.Tensor: elem_type, shape
  const type = new Proto().message(1, tensorType); // TypeProto.tensor_type
  return new Proto().string(1, name).message(2, type); // ValueInfoProto: name, type
}

/** A protobuf message being written: fields in order, each as a key (field << 3 | wire type) and a value. */
class Proto {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** Wire type 0: int32/int64/enum, negatives as 64-bit two's complement. */
  varint(field: number, v: number): this {
    this.key(field, 0);
    this.push(varintBytes(v));
    return this;
  }

  /** Wire type 5: a little-endian float32. */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** Wire type 2: length-delimited bytes. */
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.push(varintBytes(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Proto): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private key(field: number, wireType: number): void {
    this.push(varintBytes(field * 8 + wireType));
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
}

function varintBytes(v: number): Uint8Array {
  check(Number.isSafeInteger(v), `protobuf varint out of range: ${v}`);
  const out: number[] = [];
  if (v < 0) {
    let u = BigInt.asUintN(64, BigInt(v));
    for (; u >= 0x80n; u >>= 7n) out.push(Number(u & 0x7fn) | 0x80);
    out.push(Number(u));
  } else {
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    out.push(v);
  }
  return Uint8Array.from(out);
}
