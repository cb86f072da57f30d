// What a classifier sees, drawn from its numbers: images and feature maps as grey pixels, weights
// in a diverging colour scale, the confusion matrix as a heat map with counts. Computation stays
// in the library (a model's layers called one by one); this file only draws.

import { h } from './dom.ts';
import { noGrad, tensor, tidy, type Sequential } from './lib.ts';

/** A canvas of w x h cells (values already in 0..1, or -1..1 with `diverging`), shown `scale` times bigger, pixels kept sharp. */
export function pixels(values: ArrayLike<number>, w: number, ht: number, scale: number, opts: { diverging?: boolean; title?: string } = {}): HTMLCanvasElement {
  const canvas = h('canvas', { width: w, height: ht, class: 'pixels', title: opts.title });
  canvas.style.width = `${w * scale}px`;
  canvas.style.height = `${ht * scale}px`;
  const img = new ImageData(w, ht);
  for (let i = 0; i < w * ht; i++) {
    const v = values[i];
    const [r, g, b] = opts.diverging ? diverging(v) : [v * 255, v * 255, v * 255];
    img.data.set([r, g, b, 255], 4 * i);
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  return canvas;
}

/** -1 blue, 0 white, 1 red. */
function diverging(v: number): [number, number, number] {
  const t = Math.min(1, Math.abs(v));
  return v >= 0 ? [255, 255 * (1 - t), 255 * (1 - t)] : [255 * (1 - t), 255 * (1 - t), 255];
}

/** The largest absolute value, or 1 when all are 0 (so that dividing by it is safe). */
function peak(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m || 1;
}

/** A 10 x 10 confusion matrix (rows true, columns predicted) as a table of counts shaded by their share of the row. */
export function confusionTable(confusion: number[][]): HTMLElement {
  const head = h('tr', {}, h('th', { class: 'corner' }, 'true ↓ predicted →'), ...confusion.map((_, j) => h('th', {}, j)));
  const rows = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return h('tr', {}, h('th', {}, i), ...row.map((n, j) => {
      const share = n / total;
      const cell = h('td', { title: `true ${i}, predicted ${j}: ${n}`, class: i === j ? 'diagonal' : n > 0 ? 'miss' : '' }, n);
      cell.style.setProperty('--share', share.toFixed(3));
      return cell;
    }));
  });
  return h('table', { class: 'confusion', 'data-testid': 'confusion' }, h('thead', {}, head), h('tbody', {}, ...rows));
}

/** The first Conv2D layer's filters, one tile per filter and input channel, in a colour scale shared by all. */
export function firstFilters(model: Sequential): HTMLElement {
  const conv = model.layers.find((l) => l.className === 'Conv2D');
  if (!conv) return h('p', { class: 'message note' }, 'This model has no convolution.');
  const kernel = conv.weights.find((w) => w.name === 'kernel')!.value; // (kh, kw, in, filters)
  const [kh, kw, cin, filters] = kernel.shape;
  const k = kernel.dataSync();
  const scale = peak(k);
  const tiles: HTMLCanvasElement[] = [];
  for (let f = 0; f < filters; f++) for (let c = 0; c < cin; c++) {
    const tile = new Float32Array(kh * kw);
    for (let i = 0; i < kh * kw; i++) tile[i] = k[(i * cin + c) * filters + f] / scale;
    tiles.push(pixels(tile, kw, kh, 14, { diverging: true, title: `${conv.name} filter ${f}${cin > 1 ? `, input ${c}` : ''}` }));
  }
  return h('div', { class: 'tiles', 'data-testid': 'filters' }, ...tiles);
}

export interface Activation {
  name: string;
  className: string;
  /** Without the batch axis. */
  shape: number[];
  values: Float32Array;
}

/** Each layer's output for one input (the model's input shape), computed layer by layer in one scope. */
export function activations(model: Sequential, input: Float32Array): Activation[] {
  return tidy(() => noGrad(() => {
    let x = tensor(input, [1, ...model.inputShape]);
    return model.layers.map((layer) => {
      x = layer.call(x, false);
      return { name: layer.name, className: layer.className, shape: x.shape.slice(1), values: Float32Array.from(x.dataSync() as Float32Array) };
    });
  }));
}

/** The feature maps of every layer: one grey tile per channel of an image-shaped output, a strip of cells for a vector. */
export function featureMaps(layers: Activation[]): HTMLElement {
  return h('div', { class: 'maps', 'data-testid': 'feature-maps' }, ...layers.map((a) => {
    const top = peak(a.values);
    let body: HTMLElement;
    if (a.shape.length === 3) {
      const [H, W, C] = a.shape;
      const scale = Math.max(1, Math.round(56 / Math.max(H, W)));
      const tiles = Array.from({ length: C }, (_, c) => {
        const map = new Float32Array(H * W);
        for (let i = 0; i < H * W; i++) map[i] = Math.max(0, a.values[i * C + c]) / top;
        return pixels(map, W, H, scale, { title: `${a.name} channel ${c}` });
      });
      body = h('div', { class: 'tiles' }, ...tiles);
    } else {
      const n = a.values.length, cols = Math.min(n, 64), rows = Math.ceil(n / cols);
      const cells = new Float32Array(cols * rows);
      for (let i = 0; i < n; i++) cells[i] = Math.max(0, a.values[i]) / top;
      body = pixels(cells, cols, rows, n <= 10 ? 24 : 8, { title: `${a.name}: ${n} values` });
    }
    return h('section', { class: 'layer' }, h('h4', {}, `${a.name} `, h('span', { class: 'dim' }, `${a.className} · ${a.shape.join('×')}`)), body);
  }));
}
