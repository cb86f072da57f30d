// What the guide's tests share: where the chapters are, and each example's output, run once per
// test process (test/guide.test.ts imports the chapter-specific checks, guide-words.ts and
// guide-tools.ts, so that the examples run once per pass, not once per file).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EDITIONS = ['docs/guide', 'docs/guide/zh'];

/** A chapter of one edition, e.g. read('docs/guide/zh', '09-monitoring.md'). */
export const read = (edition: string, chapter: string) => fs.readFileSync(path.join(ROOT, edition, chapter), 'utf8');

const outputs = new Map<string, string>();
/** What an example (`examples/X.ts`) prints, on one thread; it imports 'tsgrad', the built package: npm test builds first. */
export function run(file: string): string {
  if (!outputs.has(file)) {
    outputs.set(file, execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, file)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TSGRAD_THREADS: '1' } }));
  }
  return outputs.get(file)!;
}

/** The text after `label` on the line of an example's output that starts with it. */
export function printed(file: string, label: string): string {
  const line = run(file).split('\n').find((l) => l.startsWith(label));
  assert.ok(line, `${file} prints no line starting ${JSON.stringify(label)}`);
  return line.slice(label.length).trim();
}
