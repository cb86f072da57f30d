// Writing files so that a crash never leaves half of one under the real name: a temporary file in
// the same folder, then a rename (atomic on one file system).

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
