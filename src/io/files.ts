// Writing files and folders so that a crash never leaves half of one under the real name: a
// temporary in the same folder, then a rename (atomic on one file system).

import fs from 'node:fs';
import { TsgradError } from '../core/errors.js';

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
