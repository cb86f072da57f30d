// Reverse-mode differentiation over the recorded graph: backward(loss) walks the nodes in reverse
// topological order and gives each leaf that requires a gradient its `.grad`.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import { inScope, noGrad } from '../tensor/engine.js';
import { release, stepBoundary, tidy, type Storage } from '../tensor/memory.js';
import { ones, type Tensor } from '../tensor/tensor.js';
import { vjp } from './rules.js';

/**
 * Accumulates d(loss)/d(leaf) into `leaf.grad` for every leaf with requiresGrad (as PyTorch). It
 * runs in its own tidy: every gradient but the leaves' is freed as soon as it has been used. Its
 * end is a step boundary (see tensor/memory.ts).
 */
export function backward(loss: Tensor, seed?: Tensor): void {
  check(loss.requiresGrad, 'backward() needs a result computed from tensors that require gradients');
  check(seed !== undefined || loss.size === 1,
    `backward() without a seed needs a scalar loss, got shape ${formatShape(loss.shape)}`);
  tidy(() => noGrad(() => {
    const leafGrads: Tensor[] = [];
    const order = topologicalOrder(loss);
    const grads = new Map<Tensor, Tensor>();
    const pending = new Pending();
    const give = (t: Tensor, g: Tensor) => {
      const prev = grads.get(t);
      if (!prev) {
        pending.hold(g);
        grads.set(t, g);
        return;
      }
      pending.hold(g); // g may share storage with a pending gradient: hold it across the add
      const sum = prev.add(g);
      pending.drop(prev);
      pending.drop(g);
      pending.hold(sum);
      grads.set(t, sum);
    };
    if (seed) pending.hold(seed); // the caller's: never freed here
    give(loss, seed ?? ones(loss.shape));
    const spent = new Spent(order);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) {
        spent.done(t);
        continue;
      }
      grads.delete(t);
      if (!t.node) {
        if (t.grad) {
          t.grad = t.grad.add(g);
          pending.drop(g);
        } else {
          // A leaf's gradient is its own: copied when another pending one shares the storage (x + y).
          t.grad = pending.forget(g) > 0 ? g.mul(1) : g;
        }
        leafGrads.push(t.grad);
        continue;
      }
      const { op, inputs, scope } = t.node;
      const inputGrads = inScope(`${scope || '(no layer)'} backward`, () => vjp(op, inputs, t, g, inputs.map((x) => x.requiresGrad)));
      t.node.inputs.forEach((input, j) => {
        const d = inputGrads[j];
        if (d && input.requiresGrad) give(input, d);
      });
      // Free the gradient as soon as it is used, unless a pending one shares its storage (a
      // reshape's, or an add's operands'). Temporaries made by the rules are freed with the scope.
      pending.drop(g);
      spent.done(t);
    }
    return leafGrads;
  }));
  stepBoundary();
}

/**
 * Counts the pending gradients on each block of storage, and frees a block (when the current scope
 * owns it) once no gradient needs it: backward's peak memory is then the activations plus the
 * gradients in flight, not every gradient of the step.
 */
class Pending {
  private readonly uses = new Map<Storage, number>();

  hold(t: Tensor): void {
    this.uses.set(t.storage, (this.uses.get(t.storage) ?? 0) + 1);
  }

  /** Stops counting one use, freeing the storage when it was the last. */
  drop(t: Tensor): void {
    if (this.forget(t) === 0) release(t);
  }

  /** Stops counting one use without freeing (the storage becomes a leaf's .grad); the uses left. */
  forget(t: Tensor): number {
    const n = (this.uses.get(t.storage) ?? 1) - 1;
    if (n > 0) this.uses.set(t.storage, n);
    else this.uses.delete(t.storage);
    return n;
  }
}

/**
 * Frees the values of internal() scopes (see tensor/memory.ts) as soon as backward has used them:
 * a value is read by its own node's rule and by its consumers', which come earlier in reverse
 * order, so once every tensor on its storage (views share it) has been passed, nothing reads it.
 */
class Spent {
  private readonly left = new Map<Storage, number>();

  constructor(order: Tensor[]) {
    for (const t of order) if (t.storage.internal) this.left.set(t.storage, (this.left.get(t.storage) ?? 0) + 1);
  }

  done(t: Tensor): void {
    const n = this.left.get(t.storage);
    if (n === undefined) return;
    if (n > 1) this.left.set(t.storage, n - 1);
    else {
      this.left.delete(t.storage);
      t.storage.free('by backward(), which had used it (a value inside a layer, which only backward can read)');
    }
  }
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
