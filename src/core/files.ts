// Reading files that someone gave tsgrad (data sets, images, checkpoints, run files): the size is
// checked before the bytes are read, and every failure is one line naming the file. Writing one
// file whole or not at all (writeFileAtomic) is here too, for the data layer's caches; folders
// and run files are io/files.ts's job.

import fs from 'node:fs';
import { TsgradError } from './errors.js';
import { parseJson, type Doc } from './validate.js';

const article = (what: string): string => `${/^[aeiou]|^(IDX|MNIST|ONNX|HTTP)/i.test(what) ? 'an' : 'a'} ${what}`;

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
  if (stat.isDirectory()) throw new TsgradError(`${file}: is a folder, not ${article(what)}`);
  if (stat.size > maxBytes) throw new TsgradError(`${file}: ${stat.size} bytes, more than the ${maxBytes} ${article(what)} may have`);
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

/** Writes `data` (or its parts, in order) to a temporary next to `file`, then renames it into place: `file` is whole or as it was. */
export function writeFileAtomic(file: string, data: Uint8Array | string | Uint8Array[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    if (Array.isArray(data)) {
      // In pieces, each from where it lies (a tensor's own memory): no copy of the whole.
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const part of data) for (let at = 0; at < part.length;) at += fs.writeSync(fd, part, at);
      } finally {
        fs.closeSync(fd);
      }
    } else fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new TsgradError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
