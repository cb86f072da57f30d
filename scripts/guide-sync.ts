// Refreshes the guide's marked code blocks from examples/: a ```lang file=examples/X block gets the
// file's text, a ```text output=examples/X block what the file prints (wasm backend, one thread, as
// test/guide.test.ts runs it). Run after editing an example, then read the diff: prose that quotes
// an output may need the same change.
// Run: node --import tsx scripts/guide-sync.ts [chapter.md ...]   (default: every chapter, both editions)

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const chapters = process.argv.length > 2 ? process.argv.slice(2)
  : ['docs/guide', 'docs/guide/zh'].flatMap((dir) => fs.readdirSync(path.join(ROOT, dir)).filter((f) => /^\d\d-.*\.md$/.test(f)).map((f) => path.join(ROOT, dir, f)));

const outputs = new Map<string, string>();
const output = (file: string) => {
  if (!outputs.has(file)) {
    const env = { ...process.env, TSGRAD_THREADS: '1', TSGRAD_BACKEND: 'wasm' };
    outputs.set(file, execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, file)], { cwd: ROOT, encoding: 'utf8', env }));
  }
  return outputs.get(file)!;
};

for (const chapter of chapters) {
  const before = fs.readFileSync(chapter, 'utf8');
  const after = before.replace(/^(```\w+ (file|output)=(\S+)\n)[\s\S]*?^```$/gm, (_, head: string, kind: string, target: string) =>
    head + (kind === 'file' ? fs.readFileSync(path.join(ROOT, target), 'utf8') : output(target)) + '```');
  if (after !== before) {
    fs.writeFileSync(chapter, after);
    console.log(`updated ${path.relative(ROOT, chapter)}`);
  }
}
