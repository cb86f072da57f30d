// Writing files and folders so that a crash never leaves half of one under the real name: a
// temporary in the same folder, then a rename (atomic on one file system).

import fs from 'node:fs';
import path from 'node:path';

export { writeFileAtomic } from '../core/files.js';

/** The moments inside writeFolderAtomic a caller may watch (the run tracker's crash tests kill the process there). */
export type FolderWritePoint = 'filled' | 'swap';

/**
 * Fills a temporary folder next to `dir` with `fill(tmp)`, then puts it in dir's place (the old
 * one, if any, is moved aside first and removed after): a folder is always whole or absent under
 * its own name. A kill between the two renames leaves the old folder whole as `dir.old-PID`;
 * cleanTemporaries puts it back.
 */
export function writeFolderAtomic(dir: string, fill: (tmp: string) => void, at?: (point: FolderWritePoint) => void): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true }); // nothing half-made is left behind
    throw e;
  }
  at?.('filled');
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  at?.('swap');
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Whether process `pid` is running (and is not this one). */
export function otherLiveProcess(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cleans up what killed writers left in `folder` (writeFileAtomic's `name.tmp-PID`,
 * writeFolderAtomic's `name.tmp-PID` and `name.old-PID`) of processes no longer running: a
 * temporary is removed; a folder moved aside by an interrupted swap is put back when nothing took
 * its name, else removed. Returns the names it put back.
 */
export function cleanTemporaries(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  const restored: string[] = [];
  const found = fs.readdirSync(folder).map((f) => /^(.+)\.(tmp|old)-(\d+)$/.exec(f)).filter((m): m is RegExpExecArray => m !== null && !otherLiveProcess(Number(m[3])));
  // Put back first: an .old is a whole folder, where a .tmp may be half of one.
  for (const [name, base, kind] of found.sort((a, b) => (a[2] === 'old' ? -1 : 1) - (b[2] === 'old' ? -1 : 1))) {
    const target = path.join(folder, base);
    if (kind === 'old' && !fs.existsSync(target)) {
      fs.renameSync(path.join(folder, name), target);
      restored.push(base);
    } else {
      fs.rmSync(path.join(folder, name), { recursive: true, force: true });
    }
  }
  return restored;
}
