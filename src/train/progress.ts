// The progress renderers, plain callbacks shared by every kind of run: a progress line redrawn in
// place on a terminal with one line kept per epoch (otherwise only the kept lines), and JSON lines
// for machines. A run counted in epochs shows Keras's progress bar; a run counted in steps (a
// language model, whose epochs are the stretches between evaluations) shows its step, loss,
// learning rate, tokens/s and time left, and a line per evaluation.

import { countsSteps, type Callback, type Logs, type StepInfo, type TrainBegin } from './callbacks.js';

interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** As Keras's progress bar: 4 decimals, or 4 significant digits (`1.0000e-04`) at or below 0.001, so small learning rates show. */
export function formatLogs(logs: Logs): string {
  const format = (v: number) => (Math.abs(v) > 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2'));
  return Object.entries(logs).map(([k, v]) => ` - ${k}: ${format(v)}`).join('');
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = Math.floor((width * done) / total);
  if (done >= total) return '='.repeat(width);
  return '='.repeat(Math.max(filled - 1, 0)) + '>' + '.'.repeat(width - Math.max(filled, 1));
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m ${Math.round(seconds % 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** The process's resident memory in MiB (memoryUsage.rss() skips the heap statistics memoryUsage() also gathers). */
const rssMiB = () => Math.round(process.memoryUsage.rss() / 2 ** 20);

/** The callbacks made here, so that fit() adds no progress bar of its own next to a user's. */
const renderers = new WeakSet<Callback>();

/** Whether `c` is one of this file's renderers (progressBar, jsonLines). */
export function isProgressRenderer(c: Callback): boolean {
  return renderers.has(c);
}

/** What a run counted in steps measures its speed in: tokens (language models, the default) or images (the captioner). */
export type RateUnit = 'tok' | 'img';

function renderer(c: Callback): Callback {
  renderers.add(c);
  return c;
}

/**
 * Epochs: `1875/1875 [==============================] - 40s 21ms/step - loss: 0.1402 - accuracy: 0.9571`.
 * Steps: `step 300/1000 - loss: 1.8021 - lr: 6.00e-3 - 9700 tok/s - ETA: 1m 12s` in place, and
 * `step 300 - 31s - loss: 1.8312 - val_loss: 1.8570 - lr: 6.00e-3 - 9700 tok/s` kept.
 * With `lines` (Keras's verbose 2), nothing is drawn in place and an epoch's line has no bar:
 * `1875/1875 - 40s 21ms/step - loss: 0.1402`.
 */
export function progressBar(out: Output = process.stdout, opts: { interval?: number; lines?: boolean; unit?: RateUnit } = {}): Callback {
  const rate = (s: StepInfo) => `${Math.round(s.samplesPerSec)} ${opts.unit ?? 'tok'}/s`;
  const interactive = Boolean(out.isTTY) && !opts.lines;
  const interval = opts.interval ?? 100;
  let run: TrainBegin, bySteps = false, start = 0, lastDraw = 0, smooth = NaN;
  const epochLine = (done: number, logs: Logs, final: boolean) => {
    const elapsed = (Date.now() - start) / 1000;
    const count = `${String(done).padStart(String(run.steps).length)}/${run.steps}`;
    const timing = final
      ? `${formatDuration(elapsed)} ${Math.round((elapsed * 1000) / done)}ms/step`
      : `ETA: ${formatDuration((elapsed / done) * (run.steps - done))}`;
    return `${count}${opts.lines ? '' : ` [${bar(done, run.steps)}]`} - ${timing}${formatLogs(logs)}`;
  };
  const stepLine = (s: StepInfo) => {
    const position = run.totalSteps !== undefined ? `step ${s.step}/${run.totalSteps}` : `step ${s.step} - ${formatDuration(s.seconds)}/${formatDuration(run.seconds!)}`;
    return `${position} - loss: ${smooth.toFixed(4)} - lr: ${s.lr.toExponential(2)} - ${rate(s)} - ETA: ${formatDuration(s.eta)}`;
  };
  return renderer({
    onTrainBegin(info) {
      run = info;
      bySteps = countsSteps(info);
    },
    onEpochBegin(epoch) {
      if (!bySteps) out.write(`Epoch ${epoch + 1}/${run.epochs}\n`);
      start = Date.now();
      lastDraw = 0;
    },
    onBatchEnd(batch, logs, s) {
      smooth = Number.isNaN(smooth) ? s.loss : 0.9 * smooth + 0.1 * s.loss;
      const now = Date.now();
      if (!interactive || now - lastDraw < interval || (!bySteps && batch + 1 === run.steps)) return;
      lastDraw = now;
      out.write(`\r${bySteps ? stepLine(s) : epochLine(batch + 1, logs, false)}\x1b[K`);
    },
    onEpochEnd(_epoch, logs, s) {
      const line = bySteps
        ? `step ${s.step} - ${formatDuration(s.seconds)}${formatLogs(logs)} - lr: ${s.lr.toExponential(2)} - ${rate(s)}`
        : epochLine(run.steps, logs, true);
      out.write(`${interactive ? '\r' : ''}${line}${interactive ? '\x1b[K' : ''}\n`);
    },
  });
}

/**
 * One JSON object per line. Epochs: `{"event":"epoch","epoch":1,"epochs":5,"step":1875,"loss":...,"lr":...,"seconds":...,"elapsed":...,"rssMiB":...}`,
 * the record metrics.jsonl keeps for the epoch (RunTracker) with the run's length added.
 * Steps: `{"event":"step","step":10,...}` every `stepEvery` steps and `{"event":"eval","step":100,"loss":...,"val_loss":...}` per evaluation,
 * with the speed as tokensPerSec (or imagesPerSec with unit 'img'). Every record has the process's
 * resident memory then, rssMiB (so a run shows whether its memory stays flat).
 */
export function jsonLines(out: Output = process.stdout, opts: { stepEvery?: number; unit?: RateUnit } = {}): Callback {
  const every = opts.stepEvery ?? 10;
  const rateKey = opts.unit === 'img' ? 'imagesPerSec' : 'tokensPerSec';
  let run: TrainBegin, bySteps = false, start = 0;
  const write = (o: object) => out.write(JSON.stringify(o) + '\n');
  return renderer({
    onTrainBegin(info) {
      run = info;
      bySteps = countsSteps(info);
    },
    onEpochBegin() {
      start = Date.now();
    },
    onBatchEnd(_batch, _logs, s) {
      if (!bySteps || s.step % every !== 0) return;
      write({ event: 'step', step: s.step, steps: run.totalSteps, budget: run.seconds, loss: s.loss, lr: s.lr, [rateKey]: s.samplesPerSec, elapsed: s.seconds, eta: s.eta, rssMiB: rssMiB() });
    },
    onEpochEnd(epoch, logs, s) {
      if (bySteps) write({ event: 'eval', step: s.step, ...logs, lr: s.lr, elapsed: s.seconds, [rateKey]: s.samplesPerSec, rssMiB: rssMiB() });
      else write({ event: 'epoch', epoch: epoch + 1, epochs: run.epochs, step: s.step, ...logs, lr: logs.lr ?? s.lr, seconds: (Date.now() - start) / 1000, elapsed: s.seconds, rssMiB: rssMiB() });
    },
  });
}
