// Reverse-mode differentiation over the recorded graph: backward(loss) walks the nodes in reverse
// topological order and gives each leaf that requires a gradient its `.grad`.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import { noGrad } from '../tensor/engine.js';
import { ones, variable, zeros, type Tensor } from '../tensor/tensor.js';
import { vjp } from './rules.js';

/** Accumulates d(loss)/d(leaf) into `leaf.grad` for every leaf with requiresGrad (as PyTorch). */
export function backward(loss: Tensor, seed?: Tensor): void {
  check(loss.requiresGrad, 'backward() needs a result computed from tensors that require gradients');
  check(seed !== undefined || loss.size === 1,
    `backward() without a seed needs a scalar loss, got shape ${formatShape(loss.shape)}`);
  noGrad(() => {
    const order = topologicalOrder(loss);
    const grads = new Map<Tensor, Tensor>([[loss, seed ?? ones(loss.shape)]]);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t); // free intermediate gradients as soon as they are used
      if (!t.node) {
        t.grad = t.grad ? t.grad.add(g) : g;
        continue;
      }
      const inputGrads = vjp(t.node.op, t.node.inputs, t, g, t.node.inputs.map((x) => x.requiresGrad));
      t.node.inputs.forEach((input, j) => {
        const d = inputGrads[j];
        if (!d || !input.requiresGrad) return;
        const prev = grads.get(input);
        grads.set(input, prev ? prev.add(d) : d);
      });
    }
  });
}

/** Nodes reachable from `root` through tensors that require gradients, inputs before outputs. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative depth-first search: deep graphs (long sequences) must not overflow the stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
  }
  return order;
}

/**
 * The gradient of a scalar function with respect to its arguments, as JAX's grad:
 * grad(f)(x, y) returns [df/dx, df/dy] without touching any `.grad` field.
 */
export function grad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  return (...args) => {
    const leaves = args.map(variable);
    backward(f(...leaves));
    return leaves.map((v) => v.grad ?? zeros(v.shape));
  };
}
