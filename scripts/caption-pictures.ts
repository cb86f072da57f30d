// How a trained captioner does on pictures as a user would give them, against the same numbers as
// generated images: each test image's digits are cut out at their boxes and laid out again as a
// picture of a written number, 3 to 6 times larger, unevenly spaced (gaps of 0.2 to 2.5 digit
// widths), each digit up to a fifth of its height higher or lower, in a coloured ink on coloured
// paper (dark on light, or light on dark for a third of them), with a few specks of dust, then
// captioned through toCaptionInput as `tsgrad caption run` does. Images whose digits overlap are
// skipped (their boxes cannot be cut apart).
//   npx tsx scripts/caption-pictures.ts RUN_OR_CHECKPOINT [count=1000] [seed=0] [--save DIR]
// --save writes the first 20 pictures as PNGs, to look at.

import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { Captioner, captionDigits, captionSample, loadMnist, loadModel, Rng, tensor, toCaptionInput, type RgbaImage } from '../src/index.js';

const [checkpoint, countText = '1000', seedText = '0'] = process.argv.slice(2).filter((a, i, all) => a !== '--save' && all[i - 1] !== '--save');
const saveAt = process.argv.indexOf('--save');
const save = saveAt > 0 ? process.argv[saveAt + 1] : undefined;
const count = Number(countText), rng = new Rng(Number(seedText));
const model = loadModel(checkpoint, Captioner);
const digits = captionDigits(loadMnist({ split: 'test' }), 'test');
const H = 28, W = 112;

function picture(image: Float32Array, boxes: { x: number; y: number; width: number; height: number }[]): RgbaImage {
  const scale = 3 + 3 * rng.uniform();
  const dark = rng.uniform() < 2 / 3;
  const paper = [200 + rng.int(56), 200 + rng.int(56), 170 + rng.int(86)], ink = [rng.int(90), rng.int(90), 60 + rng.int(120)];
  const [bg, fg] = dark ? [paper, ink] : [ink, paper];
  const placed: { box: (typeof boxes)[0]; x: number; y: number }[] = [];
  let x = Math.round(scale * (4 + rng.int(20)));
  for (const box of boxes) {
    placed.push({ box, x, y: Math.round(scale * (4 + (rng.uniform() - 0.5) * 0.4 * box.height)) });
    x += Math.round(scale * box.width * (1 + 0.2 + 2.3 * rng.uniform()));
  }
  const w = x + Math.round(scale * (4 + rng.int(20))), h = Math.round(scale * (H + 8));
  const level = new Float32Array(w * h);
  for (const { box, x: px, y: py } of placed) {
    for (let ty = 0; ty < Math.round(box.height * scale); ty++) for (let tx = 0; tx < Math.round(box.width * scale); tx++) {
      const sx = Math.min(W - 1, box.x + Math.floor(tx / scale)), sy = Math.min(H - 1, box.y + Math.floor(ty / scale));
      const o = (py + ty) * w + px + tx;
      if (o < level.length) level[o] = Math.max(level[o], image[sy * W + sx]);
    }
  }
  for (let k = 0; k < 6; k++) {
    const cx = rng.int(w - 3), cy = rng.int(h - 3);
    for (let d = 0; d < 4; d++) level[(cy + (d >> 1)) * w + cx + (d & 1)] = 0.8;
  }
  const rgba = new Uint8Array(4 * w * h);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.round(bg[c] + (fg[c] - bg[c]) * level[i]);
    rgba[4 * i + 3] = 255;
  }
  return { width: w, height: h, rgba };
}

const pictures: Float32Array[] = [], generated: Float32Array[] = [], captions: string[] = [];
while (captions.length < count) {
  const s = captionSample(rng, digits);
  if (s.boxes.some((b, i) => i > 0 && b.x < s.boxes[i - 1].x + s.boxes[i - 1].width + 1)) continue;
  const pic = picture(s.image, s.boxes);
  if (save && captions.length < 20) {
    fs.mkdirSync(save, { recursive: true });
    const png = new PNG({ width: pic.width, height: pic.height });
    png.data.set(pic.rgba);
    fs.writeFileSync(path.join(save, `${String(captions.length).padStart(2, '0')}.png`), PNG.sync.write(png));
  }
  pictures.push(toCaptionInput(pic, H, W));
  generated.push(s.image.slice());
  captions.push(s.caption);
}
const score = (images: Float32Array[]) => {
  let right = 0;
  for (let i = 0; i < count; i += 250) {
    const batch = images.slice(i, i + 250);
    const all = new Float32Array(batch.length * H * W);
    batch.forEach((b, j) => all.set(b, j * H * W));
    model.predict(tensor(all, [batch.length, H, W, 1])).forEach((c, j) => (right += c === captions[i + j] ? 1 : 0));
  }
  return right / count;
};
console.log(`${count} numbers: exact match ${(100 * score(generated)).toFixed(2)}% as generated images, ${(100 * score(pictures)).toFixed(2)}% as pictures through toCaptionInput`);
