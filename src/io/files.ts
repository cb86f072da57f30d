// Writing files and folders so that a crash never leaves half of one under the real name: a
// temporary in the same folder, then a rename (atomic on one file system).

import fs from 'node:fs';
import { TsgradError } from '../core/errors.js';
import { parseJson, type Doc } from '../core/validate.js';

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new TsgradError(`cannot write ${file}: ${(e as Error).message}`);
  }
}

/**
 * Fills a temporary folder next to `dir` with `fill(tmp)`, then puts it in dir's place (the old
 * one, if any, is moved aside first and removed after): a folder is always whole or absent.
 */
export function writeFolderAtomic(dir: string, fill: (tmp: string) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fill(tmp);
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * The bytes of a file someone gave tsgrad, or one clear line: missing, a folder, not readable, or
 * larger than `maxBytes` (checked before reading, so a huge file is never loaded).
 */
export function readInputFile(file: string, maxBytes: number, what = 'file'): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new TsgradError(`${file}: no such ${what}`);
  }
  if (stat.isDirectory()) throw new TsgradError(`${file}: is a folder, not a ${what}`);
  if (stat.size > maxBytes) throw new TsgradError(`${file}: ${stat.size} bytes, more than the ${maxBytes} a ${what} may have`);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new TsgradError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** A JSON file as a Doc for validation (see core/validate.ts); at most `maxBytes` (default 64 MiB). */
export function readJsonFile(file: string, maxBytes = 64 * 2 ** 20): Doc {
  return parseJson(readInputFile(file, maxBytes, 'JSON file').toString('utf8'), file);
}
