// Renderers for training events: Keras's progress bar (redrawn in place on a terminal, one line
// per epoch otherwise) and JSON lines for machines. Both are plain callbacks.

import type { Callback, Logs } from './callbacks.js';

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

/** `1875/1875 [==============================] - 40s 21ms/step - loss: 0.1402 - accuracy: 0.9571` */
export function progressBar(out: Output = process.stdout, opts: { interval?: number } = {}): Callback {
  const interactive = Boolean(out.isTTY);
  const interval = opts.interval ?? 100;
  let epochs = 0, steps = 0, start = 0, lastDraw = 0;
  const line = (done: number, logs: Logs, final: boolean) => {
    const elapsed = (Date.now() - start) / 1000;
    const count = `${String(done).padStart(String(steps).length)}/${steps}`;
    const timing = final
      ? `${formatDuration(elapsed)} ${Math.round((elapsed * 1000) / done)}ms/step`
      : `ETA: ${formatDuration((elapsed / done) * (steps - done))}`;
    return `${count} [${bar(done, steps)}] - ${timing}${formatLogs(logs)}`;
  };
  return {
    onTrainBegin(info) {
      epochs = info.epochs;
      steps = info.steps;
    },
    onEpochBegin(epoch) {
      out.write(`Epoch ${epoch + 1}/${epochs}\n`);
      start = Date.now();
      lastDraw = 0;
    },
    onBatchEnd(batch, logs) {
      if (!interactive || batch + 1 === steps) return;
      const now = Date.now();
      if (now - lastDraw < interval) return;
      lastDraw = now;
      out.write(`\r${line(batch + 1, logs, false)}\x1b[K`);
    },
    onEpochEnd(_epoch, logs) {
      out.write(`${interactive ? '\r' : ''}${line(steps, logs, true)}${interactive ? '\x1b[K' : ''}\n`);
    },
  };
}

/** One JSON object per epoch: {"event":"epoch","epoch":1,"epochs":5,"loss":...,"seconds":...,"rssMiB":...}. */
export function jsonLines(out: Output = process.stdout): Callback {
  let epochs = 0, start = 0;
  return {
    onTrainBegin(info) {
      epochs = info.epochs;
    },
    onEpochBegin() {
      start = Date.now();
    },
    onEpochEnd(epoch, logs) {
      const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
      out.write(JSON.stringify({ event: 'epoch', epoch: epoch + 1, epochs, ...logs, seconds: (Date.now() - start) / 1000, rssMiB }) + '\n');
    },
  };
}
