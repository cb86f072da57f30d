// A line chart (uPlot) with a title, one series per line, a legend, and the number of points it
// plots in `data-points` (what the browser tests compare with metrics.jsonl). Lines may have
// different x values (several runs, training and validation): they are joined on one x axis and
// each line spans the others' points.

import uPlot from 'uplot';
import { h } from './dom.ts';

export interface Line {
  label: string;
  x: number[];
  y: number[];
  color: string;
  /** Drawn dashed (validation figures). */
  dashed?: boolean;
}

/** Colours told apart by most eyes (Okabe & Ito's palette, then a few more). */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#7f7f7f', '#8c564b'];

const HEIGHT = 220;

export class Chart {
  readonly el: HTMLElement;
  private readonly holder: HTMLElement;
  private readonly note: HTMLElement;
  private plot: uPlot | null = null;
  /** The series' labels and styles the plot was made for: another set makes a new plot. */
  private key = '';

  constructor(title: string, testid: string, private readonly xLabel = 'step') {
    this.holder = h('div', { class: 'plot' });
    this.note = h('p', { class: 'message note' });
    this.el = h('figure', { class: 'chart', 'data-testid': testid, 'data-points': 0 }, h('figcaption', {}, title), this.holder, this.note);
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(this.holder);
  }

  /** Draws `lines` (each x ascending), or says `empty` when there are none. */
  set(lines: Line[], empty = 'nothing recorded yet'): void {
    const shown = lines.filter((l) => l.x.length > 0);
    this.el.dataset.points = String(shown.reduce((n, l) => n + l.x.length, 0));
    this.note.textContent = shown.length === 0 ? empty : '';
    this.holder.hidden = shown.length === 0;
    if (shown.length === 0) return;
    const data = uPlot.join(shown.map((l) => [l.x, l.y] as uPlot.AlignedData));
    const key = JSON.stringify(shown.map((l) => [l.label, l.color, l.dashed]));
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    this.plot = new uPlot({
      width: this.width(), height: HEIGHT,
      scales: { x: { time: false } },
      axes: [{ label: this.xLabel, size: 40 }, { size: 60, values: (_: uPlot, ticks: number[]) => ticks.map(formatValue) }],
      series: [{ label: this.xLabel }, ...shown.map((l) => ({
        label: l.label, stroke: l.color, width: 1.5, spanGaps: true, ...(l.dashed && { dash: [6, 4] }),
        value: (_: uPlot, v: number | null) => (v == null ? '–' : formatValue(v)),
      }))],
      cursor: { drag: { x: true, y: false } },
    }, data, this.holder);
  }

  private width(): number {
    return Math.max(240, this.holder.clientWidth || this.el.clientWidth || 480);
  }
}

/** A figure in 4 significant digits, thousands grouped, tiny ones in exponent notation. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-4) return v.toExponential(2);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(4)));
}
