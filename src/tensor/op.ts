// The closed set of primitive ops. Every graph node carries one of these; the backward rules in
// src/autograd switch over `kind` exhaustively, so adding an op without its gradient fails to compile.

import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import type { ConvGeometry } from '../backend/geometry.js';
import type { Tensor } from './tensor.js';

export type Op =
  | { kind: UnaryOp }
  | { kind: BinaryOp }
  | { kind: 'sum'; axes: number[] }
  | { kind: 'max'; axes: number[] }
  | { kind: 'argMax'; axis: number }
  | { kind: 'softmax'; scale: number; causal: boolean }
  | { kind: 'softmaxGrad'; scale: number }
  | { kind: 'logSoftmax' }
  | { kind: 'logSoftmaxGrad' }
  | { kind: 'normalize'; epsilon: number }
  | { kind: 'normalizeGrad'; epsilon: number }
  /** lse: each query's log-sum-exp (B, heads, T), which the forward pass writes for backward. */
  | { kind: 'attention'; heads: number; causal: boolean; lse: Tensor }
  | { kind: 'attentionGrad' }
  | { kind: 'matmul'; transA: boolean; transB: boolean }
  | { kind: 'conv2d'; g: ConvGeometry }
  | { kind: 'conv2dBackpropInput'; g: ConvGeometry }
  | { kind: 'conv2dBackpropFilter'; g: ConvGeometry }
  /** A convolution (g), then max pooling (p) of its output; argmax (int32, the output's shape) is where each window's maximum was. */
  | { kind: 'conv2dMaxPool'; g: ConvGeometry; p: ConvGeometry; argmax: Tensor }
  | { kind: 'maxPool'; g: ConvGeometry }
  | { kind: 'maxPoolGrad'; g: ConvGeometry }
  | { kind: 'avgPool'; g: ConvGeometry }
  | { kind: 'avgPoolGrad'; g: ConvGeometry }
  | { kind: 'reshape' }
  | { kind: 'transpose'; perm: number[] }
  | { kind: 'slice'; axis: number; start: number }
  | { kind: 'pad'; axis: number; before: number; after: number }
  | { kind: 'gather'; axis: number }
  | { kind: 'scatterAdd'; axis: number; size: number };

export type OpKind = Op['kind'];
