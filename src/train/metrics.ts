// Metrics computed from predictions and targets outside the graph (no gradients needed): the
// per-batch counts behind compile({metrics}), and a classifier's confusion matrix with per-class
// precision, recall and F1 (as scikit-learn's classification_report) and their text tables.
// Not for: losses (src/ops/losses.ts) or anything differentiable.

import { check } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Metrics compile() accepts; fit and evaluate log each under its own name. */
export type MetricName = 'accuracy' | 'topKCategoricalAccuracy' | 'sparseTopKCategoricalAccuracy';
/** Every metric name compile() accepts, in tsgrad's spelling. */
export const METRIC_NAMES: readonly MetricName[] = ['accuracy', 'topKCategoricalAccuracy', 'sparseTopKCategoricalAccuracy'];

/** The number of examples of a batch the metric counts as right; its mean over examples is the metric. */
export function countMetric(name: MetricName, yTrue: Tensor, yPred: Tensor): number {
  switch (name) {
    case 'accuracy': return countCorrect(yTrue, yPred);
    // Keras's string forms of these use k = 5.
    case 'topKCategoricalAccuracy': return countInTopK(yTrue, yPred, 5, 'dense');
    case 'sparseTopKCategoricalAccuracy': return countInTopK(yTrue, yPred, 5, 'sparse');
    default: {
      const unknown: never = name;
      return check(false, `unknown metric ${JSON.stringify(unknown)} (tsgrad has ${METRIC_NAMES.join(', ')})`) as never;
    }
  }
}

/**
 * Number of rows whose arg-max matches the target: an int32 class index (sparse labels) or the
 * arg-max of a one-hot row (dense labels).
 */
export function countCorrect(yTrue: Tensor, yPred: Tensor): number {
  const { rows, classes, target } = targets(yTrue, yPred);
  const p = yPred.raw;
  let correct = 0;
  for (let r = 0; r < rows; r++) if (argMaxRow(p, r * classes, classes) === target(r)) correct++;
  return correct;
}

/**
 * Number of rows whose target class is among the k highest predictions. As tf.math.in_top_k,
 * a tie straddling the k-th place counts as in: the target is in when fewer than k classes score
 * strictly higher.
 */
export function countInTopK(yTrue: Tensor, yPred: Tensor, k = 5, labels?: 'sparse' | 'dense'): number {
  check(Number.isInteger(k) && k > 0, `top-k accuracy needs a positive integer k, got ${k}`);
  const { rows, classes, target, sparse } = targets(yTrue, yPred);
  check(labels === undefined || (labels === 'sparse') === sparse,
    `${labels} top-k accuracy needs ${labels === 'sparse' ? 'class-index' : 'one-hot'} targets, got shape ${formatShape(yTrue.shape)}`);
  const p = yPred.raw;
  let hits = 0;
  for (let r = 0; r < rows; r++) {
    const score = p[r * classes + target(r)];
    let higher = 0;
    for (let j = 0; j < classes; j++) if (p[r * classes + j] > score) higher++;
    if (higher < k) hits++;
  }
  return hits;
}

/** Keras's top_k_categorical_accuracy, averaged over the batch: one-hot targets (N, C). */
export function topKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k = 5): number {
  return countInTopK(yTrue, yPred, k, 'dense') / (yPred.size / yPred.shape[yPred.rank - 1]);
}

/** Keras's sparse_top_k_categorical_accuracy, averaged over the batch: class-index targets (N). */
export function sparseTopKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k = 5): number {
  return countInTopK(yTrue, yPred, k, 'sparse') / (yPred.size / yPred.shape[yPred.rank - 1]);
}

/** Targets as class indices, from int32 labels (N) or one-hot rows (N, C). */
function targets(yTrue: Tensor, yPred: Tensor) {
  const classes = yPred.shape[yPred.rank - 1];
  const rows = yPred.size / classes;
  const t = yTrue.raw;
  const sparse = yTrue.size === rows;
  check(sparse || yTrue.size === yPred.size,
    `targets of shape ${formatShape(yTrue.shape)} do not match predictions of shape ${formatShape(yPred.shape)}`);
  const target = sparse ? (r: number) => t[r] : (r: number) => argMaxRow(t, r * classes, classes);
  return { rows, classes, target, sparse };
}

function argMaxRow(a: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[start + j] > a[start + best]) best = j;
  return best;
}

/** Class indices from int32 labels (N), or from the arg-max of each row of scores or one-hot targets (N, C). */
export function classIndices(t: Tensor): Int32Array {
  if (t.dtype === 'int32' || t.rank === 1) return Int32Array.from(t.raw);
  const classes = t.shape[t.rank - 1];
  const out = new Int32Array(t.size / classes);
  for (let r = 0; r < out.length; r++) out[r] = argMaxRow(t.raw, r * classes, classes);
  return out;
}

/**
 * counts[i][j] = examples of true class i predicted as class j (rows: truth, columns: prediction,
 * as tf.math.confusion_matrix). Either side may be class indices or (N, C) scores / one-hot rows.
 */
export function confusionMatrix(yTrue: Tensor | ArrayLike<number>, yPred: Tensor | ArrayLike<number>, numClasses?: number): number[][] {
  const t = 'dtype' in yTrue ? classIndices(yTrue) : Int32Array.from(yTrue);
  const p = 'dtype' in yPred ? classIndices(yPred) : Int32Array.from(yPred);
  check(t.length === p.length, `${t.length} targets but ${p.length} predictions`);
  let n = numClasses ?? 0;
  if (numClasses === undefined) for (let i = 0; i < t.length; i++) n = Math.max(n, t[i] + 1, p[i] + 1);
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < t.length; i++) {
    check(t[i] >= 0 && t[i] < n && p[i] >= 0 && p[i] < n, () => `class ${t[i]} or ${p[i]} is outside the ${n} classes`);
    m[t[i]][p[i]]++;
  }
  return m;
}

/** Precision, recall and F1 of one class (or their mean over classes), with its support. */
export interface ClassScores {
  /** Of the examples predicted as this class, the fraction truly of it (0 when none is predicted). */
  precision: number;
  /** Of the examples truly of this class, the fraction predicted as it (0 when there are none). */
  recall: number;
  /** The harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

/** Per-class scores and overall accuracy of a classifier, as scikit-learn's classification_report. */
export interface ClassificationReport {
  /** One entry per class, indexed by class. */
  classes: ClassScores[];
  /** Fraction of all examples classified correctly. */
  accuracy: number;
  /** Unweighted mean over the classes that occur in the targets or the predictions (as scikit-learn). */
  macro: ClassScores;
  /** Mean weighted by support. */
  weighted: ClassScores;
}

/** Per-class precision, recall and F1 from a confusion matrix; 0 where a ratio has nothing to divide by. */
export function classificationReport(matrix: number[][]): ClassificationReport {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const column = (j: number) => matrix.reduce((s, row) => s + row[j], 0);
  const classes = matrix.map((row, i) => {
    const support = row.reduce((a, b) => a + b, 0);
    const precision = ratio(row[i], column(i));
    const recall = ratio(row[i], support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const total = classes.reduce((s, c) => s + c.support, 0);
  const present = classes.filter((c, i) => c.support > 0 || column(i) > 0);
  const average = (weight: (c: ClassScores) => number, over: ClassScores[]): ClassScores => {
    const w = over.reduce((s, c) => s + weight(c), 0);
    const mean = (f: (c: ClassScores) => number) => ratio(over.reduce((s, c) => s + weight(c) * f(c), 0), w);
    return { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1), support: total };
  };
  return {
    classes,
    accuracy: ratio(matrix.reduce((s, row, i) => s + row[i], 0), total),
    macro: average(() => 1, present),
    weighted: average((c) => c.support, classes),
  };
}

/**
 * The report as a plain text table, laid out as scikit-learn's classification_report:
 * a row per class, then accuracy, macro and weighted averages. `labels` name the classes.
 */
export function formatClassificationReport(report: ClassificationReport, opts: { labels?: string[]; digits?: number } = {}): string {
  const digits = opts.digits ?? 4;
  const names = report.classes.map((_, i) => opts.labels?.[i] ?? String(i));
  const width = Math.max(12, ...names.map((s) => s.length));
  const num = (v: number) => v.toFixed(digits).padStart(10);
  const int = (v: number) => String(v).padStart(10);
  const row = (name: string, c: ClassScores) => `${name.padStart(width)}${num(c.precision)}${num(c.recall)}${num(c.f1)}${int(c.support)}`;
  const total = report.weighted.support;
  return [
    `${''.padStart(width)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1-score'.padStart(10)}${'support'.padStart(10)}`,
    '',
    ...report.classes.map((c, i) => row(names[i], c)),
    '',
    `${'accuracy'.padStart(width)}${''.padStart(20)}${num(report.accuracy)}${int(total)}`,
    row('macro avg', report.macro),
    row('weighted avg', report.weighted),
  ].join('\n') + '\n';
}

/** The confusion matrix as a plain text table: rows are true classes, columns predicted ones. */
export function formatConfusionMatrix(matrix: number[][], opts: { labels?: string[] } = {}): string {
  const names = matrix.map((_, i) => opts.labels?.[i] ?? String(i));
  const width = Math.max(4, ...names.map((s) => s.length), ...matrix.flat().map((v) => String(v).length)) + 1;
  const head = 'true \\ predicted';
  const first = Math.max(head.length, ...names.map((s) => s.length));
  return [
    head.padEnd(first) + names.map((s) => s.padStart(width)).join(''),
    ...matrix.map((row, i) => names[i].padStart(first) + row.map((v) => String(v).padStart(width)).join('')),
  ].join('\n') + '\n';
}
