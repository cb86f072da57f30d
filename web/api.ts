// The server's JSON API and its Server-Sent Events (src/server), typed as the page reads them.
// Every request's failure is an Error naming the address and what the server said, for a panel
// to show; none is left to the console.

import type { RunSummary as LibrarySummary } from '../src/train/runs.ts';

export type RunKind = 'classifier' | 'gpt' | 'lstm' | 'captioner';

/** A run's summary.json, or its progress so far. */
export interface RunSummary extends LibrarySummary {
  /** A language model's sample text, when the run wrote one. */
  sample?: string;
  bitsPerChar?: number;
}

export interface RunInfo {
  name: string;
  /** 'unknown' for a run the server cannot read (then `error` says why). */
  kind: RunKind | 'unknown';
  model: string;
  live: boolean;
  summary: RunSummary | null;
  /** The run's config.json: `{ model, options, ... }`. */
  config: { model?: string; options?: Record<string, unknown> };
  /** Why the run cannot be read (killed while writing, or damaged). */
  error?: string;
}

/** A run the server lists with its problem only, in the shape of the others. */
const broken = (r: RunInfo | { name: string; error: string }): RunInfo =>
  'kind' in r ? r : { name: r.name, kind: 'unknown', model: '?', live: false, summary: null, config: {}, error: r.error };

/** One line of metrics.jsonl: a step record every N steps, an epoch record at each epoch's (evaluation's) end. */
export type MetricsRecord = { event: 'step' | 'epoch'; step: number; epoch?: number } & Record<string, number | string | undefined>;

export interface Analysis {
  count: number;
  accuracy: number;
  /** Rows: true digit; columns: predicted digit. */
  confusion: number[][];
  wrong: { index: number; label: number; predicted: number; confidence: number }[];
}

export interface MnistImage {
  index: number;
  label: number;
  /** 784 grey levels, 0..255, white ink on black. */
  pixels: number[];
}

async function getJson<T>(url: string): Promise<T> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`${url}: the server does not answer (${(e as Error).message})`);
  }
  const text = await r.text();
  if (!r.ok) {
    let said = text.trim().slice(0, 300);
    try {
      said = (JSON.parse(text) as { error?: string }).error ?? said;
    } catch { /* not JSON: the text as it is */ }
    throw new Error(`${url}: HTTP ${r.status}${said ? ` (${said})` : ''}`);
  }
  return JSON.parse(text) as T;
}

const run = (name: string) => `/api/runs/${encodeURIComponent(name)}`;

export const api = {
  runs: async () => (await getJson<{ runs: (RunInfo | { name: string; error: string })[] }>('/api/runs')).runs.map(broken),
  run: (name: string) => getJson<RunInfo>(run(name)),
  metrics: async (name: string) => (await getJson<{ records: MetricsRecord[] }>(`${run(name)}/metrics`)).records,
  analysis: (name: string) => getJson<Analysis>(`${run(name)}/analysis`),
  mnist: (index: number) => getJson<MnistImage>(`/api/mnist/test/${index}`),
  /** Test images from..from+count-1 (count <= 1000): labels and pixels 0..255, image after image. */
  mnistBatch: async (from: number, count: number) => {
    const b = await getJson<{ labels: number[]; pixels: string }>(`/api/mnist/test?from=${from}&count=${count}`);
    return { labels: b.labels, pixels: Uint8Array.from(atob(b.pixels), (c) => c.charCodeAt(0)) };
  },
  mnistPng: (index: number) => `/api/mnist/test/${index}.png`,
  checkpoint: (name: string) => `${run(name)}/checkpoint/`,
};

export interface FollowHandlers {
  record(r: MetricsRecord): void;
  /** The run finished (its summary.json was written). */
  summary(): void;
  /** The records changed under us (a resumed run cut them back): read them all again. */
  reset(): void;
}

/**
 * Follows a run's new records over Server-Sent Events, starting after the first `from`. A dropped
 * connection is opened again after the records received so far (EventSource's own retry would
 * ask from the start again). Returns a function that stops following.
 */
export function follow(name: string, from: number, on: FollowHandlers): () => void {
  let source: EventSource | null = null;
  let count = from;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const open = () => {
    source = new EventSource(`${run(name)}/events?from=${count}`);
    source.addEventListener('record', (e) => {
      count++;
      on.record(JSON.parse((e as MessageEvent<string>).data) as MetricsRecord);
    });
    source.addEventListener('summary', () => {
      stop();
      on.summary();
    });
    source.addEventListener('reset', () => {
      stop();
      on.reset();
    });
    source.addEventListener('error', () => {
      source?.close();
      if (!stopped) retry = setTimeout(open, 2000);
    });
  };
  const stop = () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
  open();
  return stop;
}
