// Callbacks that write each epoch's logs to a file: Keras's CSVLogger, and the same as JSON lines.
// Both write one line per epoch as it ends (so a crashed run keeps its history); the stdout
// renderers (progress bar, JSON events) are in progress.ts.

import fs from 'node:fs';
import type { Callback } from './callbacks.js';

/** The options of {@link csvLogger}. */
export interface CsvLoggerConfig {
  /** Between the fields of a line (default `,`). */
  separator?: string;
  /** Append to an existing file (continuing a run) instead of overwriting it; no second header. */
  append?: boolean;
}

/**
 * Keras CSVLogger: a header `epoch,<logged keys, sorted>` then one row per epoch (epochs from 0,
 * values in JavaScript's shortest round-trip form, `NA` for a key missing from an epoch's logs).
 */
export function csvLogger(filename: string, c: CsvLoggerConfig = {}): Callback {
  const sep = c.separator ?? ',';
  let keys: string[] | null = null;
  let header = true;
  return {
    onTrainBegin() {
      keys = null;
      header = true;
      if (c.append && fs.existsSync(filename)) header = fs.readFileSync(filename, 'utf8').split('\n')[0] === '';
      else fs.writeFileSync(filename, '');
    },
    onEpochEnd(epoch, logs) {
      let lines = '';
      if (!keys) {
        keys = Object.keys(logs).sort();
        if (header) lines += ['epoch', ...keys].join(sep) + '\n';
      }
      lines += [epoch, ...keys.map((k) => (k in logs ? String(logs[k]) : 'NA'))].join(sep) + '\n';
      fs.appendFileSync(filename, lines);
    },
  };
}

/** One JSON object per epoch, `{"epoch":0,"loss":...,"lr":...}`, epochs from 0 as in the CSV log. */
export function jsonLinesLogger(filename: string, c: { append?: boolean } = {}): Callback {
  return {
    onTrainBegin() {
      if (!c.append) fs.writeFileSync(filename, '');
    },
    onEpochEnd(epoch, logs) {
      fs.appendFileSync(filename, JSON.stringify({ epoch, ...logs }) + '\n');
    },
  };
}
