// Automatic differentiation: backward() (PyTorch's, filling `.grad`), noGrad(), and TensorFlow.js's
// functional forms: grad, grads, valueAndGrad, valueAndGrads, variableGrads. The functional forms
// leave every `.grad` as they found it and return the value without its graph, so that nothing
// they return keeps a step's tensors reachable.

import { check } from '../core/errors.js';
import { leaf, ones, Tensor, zeros } from '../tensor/tensor.js';
import { backward } from './backward.js';

export { backward } from './backward.js';
export { noGrad } from '../tensor/engine.js';

/**
 * d value / d leaf for each of `leaves`, by backward() from `value` with `dy` (default ones, so a
 * non-scalar value is summed, as TF.js). Every leaf's `.grad` is restored afterwards.
 */
function gradients(value: Tensor, leaves: Tensor[], dy?: Tensor): Tensor[] {
  check(value.requiresGrad, 'the function\'s result does not depend on the tensors to differentiate it by');
  const all = trainableLeaves(value);
  const saved = all.map((t) => t.grad);
  for (const t of all) t.grad = null;
  try {
    backward(value, dy ?? (value.size === 1 ? undefined : ones(value.shape)));
    return leaves.map((t) => t.grad ?? zeros(t.shape));
  } finally {
    all.forEach((t, i) => (t.grad = saved[i]));
  }
}

/** The leaves that `value` depends on and that require gradients (variables, model weights). */
export function trainableLeaves(value: Tensor): Tensor[] {
  const leaves: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack = [value];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.requiresGrad) continue;
    seen.add(t);
    if (!t.node) leaves.push(t);
    else stack.push(...t.node.inputs);
  }
  return leaves;
}

/** The same storage without a graph: what the functional forms return as the value. */
function detached(t: Tensor): Tensor {
  return new Tensor(t.storage, t.shape, t.dtype, null, t.offset);
}

function checkResult(y: unknown): Tensor {
  check(y instanceof Tensor, 'the function must return a tensor');
  return y;
}

/** As tf.grad: grad(f)(x, dy?) is df/dx for f of one tensor. */
export function grad(f: (x: Tensor) => Tensor): (x: Tensor, dy?: Tensor) => Tensor {
  return (x, dy) => valueAndGrad(f)(x, dy).grad;
}

/** As tf.grads: grads(f)([x, y], dy?) is [df/dx, df/dy]. */
export function grads(f: (...args: Tensor[]) => Tensor): (args: Tensor[], dy?: Tensor) => Tensor[] {
  return (args, dy) => valueAndGrads(f)(args, dy).grads;
}

/** As tf.valueAndGrad: {value: f(x), grad: df/dx}. */
export function valueAndGrad(f: (x: Tensor) => Tensor): (x: Tensor, dy?: Tensor) => {
  /** f(x). */
  value: Tensor;
  /** df/dx (times dy, when given), with x's shape. */
  grad: Tensor;
} {
  return (x, dy) => {
    const { value, grads: [g] } = valueAndGrads((a) => f(a))([x], dy);
    return { value, grad: g };
  };
}

/** As tf.valueAndGrads: {value: f(...args), grads: [df/d arg for each arg]}. */
export function valueAndGrads(f: (...args: Tensor[]) => Tensor): (args: Tensor[], dy?: Tensor) => {
  /** f(...args). */
  value: Tensor;
  /** df/d arg for each argument, in order, each with its argument's shape. */
  grads: Tensor[];
} {
  return (args, dy) => {
    check(Array.isArray(args), 'valueAndGrads(f) takes its arguments as one array: valueAndGrads(f)([x, y])');
    const leaves = args.map(leaf);
    const value = checkResult(f(...leaves));
    return { value: detached(value), grads: gradients(value, leaves, dy) };
  };
}

/**
 * As tf.variableGrads: f's value and its gradient with respect to each variable in `varList`
 * (default: every trainable variable f used), keyed by the variable's name. f takes no arguments
 * and returns a scalar.
 */
export function variableGrads(f: () => Tensor, varList?: Tensor[]): {
  /** f's scalar value. */
  value: Tensor;
  /** The gradient for each variable, keyed by the variable's name. */
  grads: Record<string, Tensor>;
} {
  const value = checkResult(f());
  check(value.size === 1, `variableGrads needs f to return a scalar, got shape [${value.shape.join(', ')}]`);
  const vars = varList ?? trainableLeaves(value);
  for (const v of vars) check(v.requiresGrad && !v.node, `variableGrads differentiates by trainable variables; "${v.name ?? v.id}" is not one`);
  const gs = gradients(value, vars);
  return { value: detached(value), grads: Object.fromEntries(vars.map((v, i) => [v.name ?? String(v.id), gs[i]])) };
}
