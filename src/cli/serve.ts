// `tsgrad serve` and the --dashboard flag of the training commands: the local server
// (src/server) over a folder of runs. The flags are defined in main.ts.
//
// A training command's dashboard ends with the training: the command's contract stays "it
// returns when the run is done" (scripts and CI never hang on a server nobody looks at), as Ray's
// dashboard ends with its script; to keep looking, `tsgrad serve` is a separate, long-lived
// process over the same folder, as TensorBoard is. The last line says so.

import fs from 'node:fs';
import path from 'node:path';
import { check } from '../core/errors.js';
import { startDashboard } from '../server/dashboard.js';
import { startServer } from '../server/server.js';
import { registerNodeBackend } from './backend.js';
import { warn, type RunPlace } from './common.js';

export interface ServeOptions {
  runs: string;
  port: number;
  host: string;
  data?: string;
}

/** `tsgrad serve`: serves until Ctrl-C (or SIGTERM). */
export async function serve(o: ServeOptions): Promise<void> {
  check(!fs.statSync(o.runs, { throwIfNoEntry: false })?.isFile(), `--runs ${o.runs} is a file, not a folder of runs`);
  registerNodeBackend();
  const server = await startServer(o);
  process.stdout.write(`tsgrad dashboard: ${server.url}${o.host === '0.0.0.0' || o.host === '::' ? ` (listening on every address: anyone who can reach this machine can read ${o.runs})` : ''}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}

/** What --dashboard adds to a training command's flags: the port (the flag alone: 6006). */
export interface DashboardFlag {
  dashboard?: number;
}

/**
 * Runs a training command (`train`, given its flags without --dashboard) with the dashboard of
 * its runs folder served in a worker thread from before training starts until it ends. `mnist`:
 * the MNIST folder the command trains on (its --data), whose test images the dashboard shows.
 */
export async function withDashboard<O extends DashboardFlag & RunPlace & { resume?: string; json?: boolean }>(
  flags: O, train: (flags: Omit<O, 'dashboard'>) => Promise<void>, mnist?: string,
): Promise<void> {
  const { dashboard: port, ...rest } = flags;
  if (port === undefined) return train(rest);
  const runs = runsFolder(rest);
  const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`); // --json keeps stdout for JSON lines
  const server = await startDashboard({ runs, port, data: mnist, onError: (m) => warn(`the dashboard stopped: ${m}`) });
  say(`tsgrad dashboard: ${server.url}`);
  try {
    await train(rest);
  } finally {
    await server.close();
  }
  say(`The dashboard closed with the training; to keep looking: tsgrad serve --runs ${runs}`);
}

/** The folder that holds the run: --out's parent, a resumed run's parent when --resume names a folder, else --runs. */
function runsFolder(o: RunPlace & { resume?: string }): string {
  if (o.out !== undefined) return path.dirname(path.resolve(o.out));
  const r = o.resume;
  if (r !== undefined && (fs.existsSync(path.join(r, 'config.json')) || path.isAbsolute(r))) return path.dirname(path.resolve(r));
  return o.runs;
}
