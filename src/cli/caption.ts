// `tsgrad caption ...`: the digits-to-words captioner's commands. `caption data` writes generated
// images (data/captions.ts) as PNGs, dark ink on white so that people can look at them, with
// captions.jsonl (one line per image: file, caption, number, split, digits = the source MNIST
// images' indices in that split). The flags are defined in main.ts. Everything is checked before
// anything is written; an existing non-empty --out is replaced only with --force, and only when it
// is a folder this command wrote (it holds captions.jsonl); the folder appears whole or not at all.
// Not for: the captioner model or its training (models/, train/).

import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CAPTION_HEIGHT, CAPTION_WIDTH, captionDigits, captionSample, type CaptionSplit } from '../data/captions.js';
import { loadMnist } from '../data/mnist.js';
import { Rng } from '../core/rng.js';
import { writeFolderAtomic } from '../io/files.js';
import { checkOutput } from './common.js';

export interface CaptionDataOptions {
  out: string;
  count: number;
  split: CaptionSplit;
  seed: number;
  data?: string;
  force?: boolean;
}

const CAPTIONS_FILE = 'captions.jsonl';

/** A grey PNG of a white-on-black image in [0, 1], inverted: dark ink on white. */
function inkPng(image: Float32Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const v = 255 - Math.round(255 * image[i]);
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = v;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0, inputColorType: 6, inputHasAlpha: true });
}

export function captionData(o: CaptionDataOptions): void {
  checkOutput(o.out, {
    kind: 'folder', force: o.force, inputs: o.data === undefined ? [] : [o.data],
    isOurs: (dir) => fs.existsSync(path.join(dir, CAPTIONS_FILE)), what: `a folder of captioned images (with ${CAPTIONS_FILE})`,
  });
  const digits = captionDigits(loadMnist({ dir: o.data, split: o.split }), o.split);
  const rng = new Rng(o.seed);
  const pad = Math.max(6, String(o.count - 1).length);
  const image = new Float32Array(CAPTION_HEIGHT * CAPTION_WIDTH);
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  writeFolderAtomic(o.out, (tmp) => {
    fs.mkdirSync(tmp);
    const lines: string[] = [];
    for (let i = 0; i < o.count; i++) {
      const s = captionSample(rng, digits, image);
      const file = `${String(i).padStart(pad, '0')}.png`;
      fs.writeFileSync(path.join(tmp, file), inkPng(s.image, CAPTION_WIDTH, CAPTION_HEIGHT));
      lines.push(JSON.stringify({ file, caption: s.caption, number: s.number, split: o.split, digits: s.digits }));
    }
    fs.writeFileSync(path.join(tmp, CAPTIONS_FILE), `${lines.join('\n')}\n`);
  });
  process.stdout.write(`Wrote ${o.count} images of numbers from MNIST ${o.split} digits (${CAPTION_WIDTH}x${CAPTION_HEIGHT}, seed ${o.seed}) and ${CAPTIONS_FILE} to ${o.out}\n`);
}
