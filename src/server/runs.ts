// What the server reads from the run folders (train/runs.ts writes them; the server only reads):
// each run's description (RunInfo), its metrics records with never a torn one, and a live
// stream of them for Server-Sent Events that notices a file cut back or replaced (a resumed run
// rewrites metrics.jsonl by an atomic rename) and a summary appearing.
// Not for: HTTP routes (server.ts), models (models.ts).

import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { TsgradError } from '../core/errors.js';
import { readJsonFile } from '../core/files.js';
import { latestCheckpoint, readRun, type MetricsRecord, type RunSummary } from '../train/runs.js';
import { HttpError } from './http.js';

export type RunKind = 'classifier' | 'gpt' | 'lstm' | 'captioner';

export interface RunInfo {
  name: string;
  kind: RunKind;
  /** config.json's model: reference, lenet5, strong, gpt, lstm, captioner (or a name given in code). */
  model: string;
  /** Being written now: see isLive. */
  live: boolean;
  /** summary.json, or for an unfinished run the same figures from its newest checkpoint (finished: false); null before its first checkpoint. */
  summary: RunSummary | null;
  /** config.json as written: model, options, created, command, machine. */
  config: Record<string, unknown>;
}

/** A run that cannot be read (killed while writing, or damaged), in the list with its one-line problem. */
export interface BrokenRun {
  name: string;
  error: string;
}

/** A run is live when one of its files changed this recently and no summary was written after. */
const LIVE_MS = 60_000;

/**
 * The folder of the run `name` under `root`: a plain folder name (letters, digits, '.', '_', '-',
 * as `--name` takes) directly under it, holding a config.json, and not a link leading elsewhere.
 */
export function runFolder(root: string, name: string): string {
  if (!/^[\w.-]{1,200}$/.test(name) || name === '.' || name === '..') throw new HttpError(400, `run name ${JSON.stringify(name.slice(0, 60))} must be a folder name (letters, digits, '.', '_', '-')`);
  const dir = path.join(root, name);
  try {
    const real = fs.realpathSync(dir);
    if (path.dirname(real) !== fs.realpathSync(root) || !fs.statSync(path.join(real, 'config.json')).isFile()) throw new Error('not a run');
  } catch {
    throw new HttpError(404, `no run named "${name}" in ${root}`);
  }
  return dir;
}

/** config.json's model name as the kind of model it is. */
function kindOf(model: string, options: Record<string, unknown>): RunKind {
  if (model === 'captioner') return 'captioner';
  if (/^(gpt|lstm|lstmlm)$/i.test(model)) return model.toLowerCase() === 'gpt' ? 'gpt' : 'lstm';
  return options.arch === 'gpt' || options.arch === 'lstm' ? options.arch : 'classifier';
}

const mtime = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;

/**
 * Whether a run is being written: the tracker leaves no lock, so this is judged from the files
 * (its metrics, config or checkpoints changed in the last minute, and no summary.json since;
 * a resumed run's summary.json is older than its rewritten metrics). A run counted in long epochs
 * without step records can look idle between checkpoints.
 */
function isLive(dir: string): boolean {
  const changed = Math.max(...['metrics.jsonl', 'config.json', 'checkpoints'].map((f) => mtime(path.join(dir, f)) ?? 0));
  const summary = mtime(path.join(dir, 'summary.json'));
  return Date.now() - changed < LIVE_MS && (summary === undefined || summary < changed);
}

/**
 * A run's description. A checkpoint being swapped or pruned while it is read can make a read fail
 * once; it is tried again before the run counts as damaged.
 */
export function runInfo(dir: string): RunInfo {
  for (let attempt = 1; ; attempt++) {
    try {
      const config = readJsonFile(path.join(dir, 'config.json'));
      const options = config.at('options').object() as Record<string, unknown>;
      const model = config.at('model').optional()?.string() ?? config.at('options').at('model').string();
      const name = path.basename(dir);
      const summary = fs.existsSync(path.join(dir, 'summary.json')) || latestCheckpoint(dir) ? { ...readRun(dir), name } : null;
      return { name, kind: kindOf(model, options), model, live: isLive(dir), summary, config: config.value as Record<string, unknown> };
    } catch (e) {
      if (!(e instanceof TsgradError) || attempt === 3) throw e;
    }
  }
}

/** Every run under `root` (folders with a config.json), newest first (by config.json's `created`), a damaged one with its error. */
export function listRunInfos(root: string): (RunInfo | BrokenRun)[] {
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return [];
  const isRun = (name: string) => {
    try {
      return runFolder(root, name);
    } catch {
      return null;
    }
  };
  const runs = fs.readdirSync(root).filter(isRun).map((name) => {
    const dir = path.join(root, name);
    let created = '';
    try {
      const info = runInfo(dir);
      created = typeof info.config.created === 'string' ? info.config.created : '';
      return { created, run: info as RunInfo | BrokenRun };
    } catch (e) {
      if (!(e instanceof TsgradError)) throw e;
      // Messages name files by their path; within the run its file name is enough.
      return { created: new Date(mtime(path.join(dir, 'config.json')) ?? 0).toISOString(), run: { name, error: e.message.split('\n')[0].split(dir + path.sep).join('') } };
    }
  });
  return runs.sort((a, b) => (a.created === b.created ? (a.run.name < b.run.name ? 1 : -1) : a.created < b.created ? 1 : -1)).map((r) => r.run);
}

/** A metrics line as a record: a JSON object with a string event and a whole step >= 0 (as train/runs.ts's readMetrics checks), else null. */
function parseRecord(line: string): MetricsRecord | null {
  try {
    const r = JSON.parse(line) as MetricsRecord;
    return r !== null && typeof r === 'object' && !Array.isArray(r) && typeof r.event === 'string' && Number.isSafeInteger(r.step) && r.step >= 0 ? r : null;
  } catch {
    return null;
  }
}

/**
 * Follows a metrics.jsonl: each read() returns the records completed since the last (only whole
 * lines: a line being appended is taken once its line break is there), or `reset` when the file
 * was cut back or replaced, the records then being the new file's from its start. A line that is
 * not a record (damaged) is skipped, and counted in `skipped`, by every reader alike, so record
 * counts agree between /metrics and the event stream.
 */
export class MetricsTail {
  /** Records read so far from the current file. */
  count = 0;
  skipped = 0;
  private offset = 0;
  private ino = -1;
  /** The bytes just before `offset`: if they change, the file was replaced. */
  private tail = Buffer.alloc(0);

  constructor(readonly file: string) {}

  read(): { reset: boolean; records: MetricsRecord[] } {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      // No file (yet, or removed): a removed one counts as cut back to nothing.
      const reset = this.offset > 0;
      if (reset) this.restart(-1);
      return { reset, records: [] };
    }
    try {
      const { ino, size } = fs.fstatSync(fd);
      let reset = ino !== this.ino && this.ino !== -1 ? true : size < this.offset;
      if (!reset && this.tail.length) {
        const seen = Buffer.alloc(this.tail.length);
        fs.readSync(fd, seen, 0, seen.length, this.offset - this.tail.length);
        reset = !seen.equals(this.tail);
      }
      if (reset) this.restart(ino);
      this.ino = ino;
      return { reset, records: this.readFrom(fd, size) };
    } finally {
      fs.closeSync(fd);
    }
  }

  private restart(ino: number): void {
    [this.count, this.skipped, this.offset, this.ino, this.tail] = [0, 0, 0, ino, Buffer.alloc(0)];
  }

  private readFrom(fd: number, size: number): MetricsRecord[] {
    if (size <= this.offset) return [];
    const bytes = Buffer.alloc(size - this.offset);
    const got = fs.readSync(fd, bytes, 0, bytes.length, this.offset);
    const end = bytes.lastIndexOf(10, got - 1) + 1; // after the last line break: a torn last line waits
    if (end === 0) return [];
    const records: MetricsRecord[] = [];
    for (const line of bytes.subarray(0, end - 1).toString('utf8').split('\n')) {
      const r = parseRecord(line);
      if (r) records.push(r);
      else this.skipped++;
    }
    this.offset += end;
    this.count += records.length;
    this.tail = Buffer.from(bytes.subarray(Math.max(0, end - 64), end));
    return records;
  }
}

/** A run's records so far (whole lines only), and how many lines were skipped as damaged. */
export function readRecords(dir: string): { records: MetricsRecord[]; skipped: number } {
  const tail = new MetricsTail(path.join(dir, 'metrics.jsonl'));
  return { records: tail.read().records, skipped: tail.skipped };
}

/** How often a stream looks at the files besides fs.watch's notices (which can be missed), and how often it sends a heartbeat. */
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/**
 * A client that still has this much unsent at a poll is too slow: it is disconnected (an
 * EventSource reconnects, resuming by Last-Event-ID). Not checked on each write: the replay of a
 * long run's history at connection may be larger, and a healthy client has read it by the first poll.
 */
const MAX_BACKLOG = 2 ** 20;

/**
 * Streams a run's records as Server-Sent Events: `record` for each record after the first `from`
 * (each with `id:` its count, so that a reconnecting EventSource resumes where it was), `reset`
 * (id 0) when metrics.jsonl is cut back or replaced, the new file's records following from the
 * first, `summary` when summary.json appears or changes (and at once if it is there), and a
 * comment every 15 s. `from` beyond the records there are counts as a reset. It stops when the
 * client goes away (or falls too far behind), closing its watcher, and then calls `onEnd`.
 */
export function streamEvents(dir: string, from: number, res: ServerResponse, onEnd: () => void): void {
  const tail = new MetricsTail(path.join(dir, 'metrics.jsonl'));
  const summaryFile = path.join(dir, 'summary.json');
  let summarySeen = '';
  let ended = false;
  let watcher: fs.FSWatcher | null = null;
  let pending = false;
  const send = (event: string, data: unknown, id?: number) => res.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
  const check = () => {
    if (ended) return;
    const { reset, records } = tail.read();
    if (reset) send('reset', {}, 0);
    const before = tail.count - records.length;
    records.forEach((r, i) => send('record', r, before + i + 1));
    const s = fs.statSync(summaryFile, { throwIfNoEntry: false });
    const key = s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '';
    if (key && key !== summarySeen) {
      try {
        const summary = readJsonFile(summaryFile).value;
        summarySeen = key;
        send('summary', summary);
      } catch { /* being replaced: read at the next look */ }
    }
  };
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write(': tsgrad events\n\n');
  // A client that asks for more records than there are missed a cut: it is told to start again.
  const first = tail.read();
  if (from > tail.count) {
    send('reset', {}, 0);
    from = 0;
  }
  first.records.forEach((r, i) => i >= from && send('record', r, i + 1));
  check();
  try {
    // The folder, not the file: metrics.jsonl and summary.json are replaced by renames.
    watcher = fs.watch(dir, () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        check();
      }, 20);
    });
    watcher.on('error', () => watcher?.close());
  } catch { /* the poll below still sees every change */ }
  const poll = setInterval(() => (res.writableLength > MAX_BACKLOG ? res.destroy() : check()), POLL_MS);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  function stop() {
    if (ended) return;
    ended = true;
    watcher?.close();
    clearInterval(poll);
    clearInterval(heartbeat);
    res.end();
    onEnd();
  }
  res.on('close', stop);
  res.on('error', stop);
}
