// Weight and activity regularizers with Keras's names, defaults and penalties. A regularizer is
// its own serialised form ({className, config}), so layer configs hold it as plain data and
// round-trip unchanged; penalty() turns it into a differentiable scalar.
// Not for: adding penalties to the loss (LayerStack.call collects them, Sequential adds them).

import { check } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A weight or activity regularizer in Keras's serialised form: its class name and penalty factors.
 * Layer configs hold it as plain data; make one with {@link l1}, {@link l2} or {@link l1l2}.
 */
export type Regularizer =
  | {
      /** An L1 penalty: l1 * sum(|w|). */
      className: 'L1';
      /** Its factor. */
      config: {
        /** The L1 factor (Keras's default 0.01). */
        l1: number;
      };
    }
  | {
      /** An L2 penalty: l2 * sum(w²). */
      className: 'L2';
      /** Its factor. */
      config: {
        /** The L2 factor (Keras's default 0.01). */
        l2: number;
      };
    }
  | {
      /** Both penalties added. */
      className: 'L1L2';
      /** Their factors. */
      config: {
        /** The L1 factor. */
        l1: number;
        /** The L2 factor. */
        l2: number;
      };
    };

function factor(name: string, v: number): number {
  check(Number.isFinite(v) && v >= 0, `${name} regularization factor must be a non-negative number, got ${v}`);
  return v;
}

/** l1 * sum(|w|), as keras.regularizers.L1(l1=0.01). */
export const l1 = (l1 = 0.01): Regularizer => ({ className: 'L1', config: { l1: factor('L1', l1) } });

/** l2 * sum(w²), as keras.regularizers.L2(l2=0.01) (no ½). */
export const l2 = (l2 = 0.01): Regularizer => ({ className: 'L2', config: { l2: factor('L2', l2) } });

/** l1 * sum(|w|) + l2 * sum(w²), as keras.regularizers.l1_l2(l1=0.01, l2=0.01). */
export const l1l2 = ({ l1 = 0.01, l2 = 0.01 }: { l1?: number; l2?: number } = {}): Regularizer =>
  ({ className: 'L1L2', config: { l1: factor('L1', l1), l2: factor('L2', l2) } });

/** Checks a regularizer read from a config (as keras.regularizers.get): a known class with valid factors. */
export function checkRegularizer(r: Regularizer): Regularizer {
  switch (r?.className) {
    case 'L1': return l1(r.config?.l1);
    case 'L2': return l2(r.config?.l2);
    case 'L1L2': return l1l2(r.config ?? {});
    default: {
      const unknown: never = r;
      return check(false, `unknown regularizer ${JSON.stringify((unknown as { className?: unknown } | undefined)?.className)} (tsgrad has L1, L2, L1L2)`) as never;
    }
  }
}

/** The kernel and bias regularizers of a config, checked, with unset ones left out (for getConfig). */
export function regularizers(c: { kernelRegularizer?: Regularizer; biasRegularizer?: Regularizer }) {
  return {
    ...(c.kernelRegularizer ? {
      /** The kernel's regularizer, checked. */
      kernelRegularizer: checkRegularizer(c.kernelRegularizer),
    } : {}),
    ...(c.biasRegularizer ? {
      /** The bias's regularizer, checked. */
      biasRegularizer: checkRegularizer(c.biasRegularizer),
    } : {}),
  };
}

/** The penalty of `r` on `w`: a scalar tensor, differentiable with respect to w. */
export function penalty(r: Regularizer, w: Tensor): Tensor {
  switch (r.className) {
    case 'L1': return w.abs().sum().mul(r.config.l1);
    case 'L2': return w.square().sum().mul(r.config.l2);
    case 'L1L2': return w.abs().sum().mul(r.config.l1).add(w.square().sum().mul(r.config.l2));
    default: {
      const unknown: never = r;
      throw new Error(`unknown regularizer ${JSON.stringify(unknown)}`);
    }
  }
}
