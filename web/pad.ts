// A canvas to write on with a mouse, a finger or a pen (pointer events): dark ink on white paper,
// as a picture for toMnistInput / toCaptionInput. Not for: preparing the picture (the library does).

import { h } from './dom.ts';
import type { RgbaImage } from './lib.ts';

export class Pad {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  /** Whether anything has been drawn since the last clear. */
  inked = false;

  /** `onInk` runs after each bit of stroke, and with `done` true when a stroke ends. */
  constructor(width: number, height: number, testid: string, private readonly onInk: (done: boolean) => void, private readonly lineWidth = width / 12) {
    this.canvas = h('canvas', { width, height, class: 'pad', 'data-testid': testid, 'aria-label': 'drawing area' });
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    this.canvas.addEventListener('pointerdown', (e) => {
      this.canvas.setPointerCapture(e.pointerId);
      this.last = this.at(e);
      this.stroke(this.last);
      e.preventDefault();
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!this.last) return;
      // Coalesced events: every point the pointer passed since the last event, for smooth fast strokes.
      for (const p of e.getCoalescedEvents?.() ?? [e]) this.stroke(this.at(p));
    });
    const end = () => {
      if (!this.last) return;
      this.last = null;
      this.onInk(true);
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
  }

  image(): RgbaImage {
    const { width, height } = this.canvas;
    return { width, height, rgba: new Uint8Array(this.ctx.getImageData(0, 0, width, height).data.buffer) };
  }

  /** The pointer's place in canvas pixels (the canvas may be shown at another size). */
  private at(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * this.canvas.width) / r.width, y: ((e.clientY - r.top) * this.canvas.height) / r.height };
  }

  private stroke(p: { x: number; y: number }): void {
    const from = this.last ?? p;
    const c = this.ctx;
    c.strokeStyle = '#111';
    c.lineWidth = this.lineWidth;
    c.lineCap = c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(p.x + 0.01, p.y); // a dot for a click without a move
    c.stroke();
    this.last = p;
    this.inked = true;
    this.onInk(false);
  }
}
