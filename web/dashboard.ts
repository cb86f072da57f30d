// The dashboard: the runs with their settings and best figures; for the chosen runs, charts of
// loss and accuracy (training from the step records, validation from the epoch records), learning
// rate and throughput, one series per run, growing live over Server-Sent Events; for the run
// chosen last, what it shows best: a classifier's confusion matrix, misclassified test images,
// first-layer filters and feature maps; a language model's samples.
// The selection lives in the address: #/dashboard/<run>,<run>.

import { api, follow, type MetricsRecord, type RunInfo } from './api.ts';
import { Chart, formatValue, PALETTE, type Line } from './chart.ts';
import { errorText, fill, h, message, percent } from './dom.ts';
import { generator, hasCheckpoint } from './lm.ts';
import { loadModel, Sequential } from './lib.ts';
import { activations, confusionTable, featureMaps, firstFilters, pixels } from './pictures.ts';

interface Followed {
  records: MetricsRecord[];
  error?: string;
  stop?: () => void;
}

const LIST_EVERY_MS = 5000;

export class Dashboard {
  readonly el: HTMLElement;
  private runs: RunInfo[] = [];
  private selected: string[] = [];
  private readonly data = new Map<string, Followed>();
  private readonly list = h('ul', { class: 'runs', 'data-testid': 'runs' });
  private readonly listNote = h('div');
  private readonly chartNote = h('div');
  private readonly loadErrors = h('div');
  private readonly detail = h('section', { class: 'detail' });
  private readonly charts = {
    loss: new Chart('Loss (solid: training, dashed: validation)', 'chart-loss'),
    accuracy: new Chart('Accuracy (solid: training, dashed: validation)', 'chart-accuracy'),
    lr: new Chart('Learning rate', 'chart-lr'),
    throughput: new Chart('Throughput (images/s or tokens/s)', 'chart-throughput'),
  };
  private detailFor: string | null = null;
  private redrawTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    this.el = h('div', { class: 'dashboard' },
      h('aside', { class: 'sidebar' }, h('h2', {}, 'Runs'), this.listNote, this.list),
      h('div', { class: 'main' }, this.chartNote, this.loadErrors, h('div', { class: 'charts' }, ...Object.values(this.charts).map((c) => c.el)), this.detail));
    void this.refreshList();
    setInterval(() => void this.refreshList(), LIST_EVERY_MS);
  }

  /** Shows `names` (from the address; empty: the newest run). */
  show(names: string[]): void {
    this.selected = names;
    this.sync();
  }

  private async refreshList(): Promise<void> {
    try {
      this.runs = await api.runs();
      fill(this.listNote, this.runs.length === 0 && message('note', 'No runs yet. Start one (tsgrad train, gpt train or caption train, with --runs pointing at this folder): it appears here as it starts.'));
    } catch (e) {
      fill(this.listNote, message('error', `Cannot list the runs: ${errorText(e)}`));
    }
    this.sync();
  }

  /** Brings the list, the followed runs and the detail in line with the selection. */
  private sync(): void {
    const known = new Set(this.runs.map((r) => r.name));
    const chosen = this.selected.length > 0 ? this.selected : this.runs.slice(0, 1).map((r) => r.name);
    const shown = chosen.filter((n) => known.has(n));
    const missing = chosen.filter((n) => !known.has(n));
    fill(this.chartNote, this.runs.length > 0 && missing.length > 0 && message('note', `No run named ${missing.join(', ')} (yet).`));
    fill(this.list, ...this.runs.map((r) => this.item(r, shown.includes(r.name))));
    for (const [name, f] of this.data) {
      if (!shown.includes(name)) {
        f.stop?.();
        this.data.delete(name);
      }
    }
    for (const name of shown) if (!this.data.has(name)) void this.load(name);
    // A run that was live and is no longer: follow() ended with its summary; nothing to do here.
    this.redraw();
    const focus = shown.at(-1) ?? null;
    const info = this.runs.find((r) => r.name === focus);
    const key = info ? `${info.name}:${hasCheckpoint(info)}:${info.summary?.finished}` : null;
    if (key !== this.detailFor) {
      this.detailFor = key;
      fill(this.detail, info && this.details(info));
    }
  }

  private item(r: RunInfo, checked: boolean): HTMLElement {
    const box = h('input', { type: 'checkbox', checked, 'aria-label': `show ${r.name}` });
    box.addEventListener('change', () => {
      const current = this.selected.length > 0 ? this.selected : this.runs.slice(0, 1).map((x) => x.name);
      const next = box.checked ? [...current.filter((n) => n !== r.name), r.name] : current.filter((n) => n !== r.name);
      location.hash = `#/dashboard/${next.map(encodeURIComponent).join(',')}`;
    });
    const s = r.summary;
    const figures = [
      s?.best && `best ${s.best.monitor} ${figure(s.best.monitor, s.best.value)}`,
      s?.test?.accuracy !== undefined && `test accuracy ${percent(s.test.accuracy, 2)}`,
      s?.bitsPerChar !== undefined && `${s.bitsPerChar.toFixed(3)} bits/char`,
    ].filter(Boolean).join(' · ');
    const color = checked ? PALETTE[this.selectedIndex(r.name) % PALETTE.length] : 'transparent';
    return h('li', { class: `run${checked ? ' selected' : ''}`, 'data-testid': 'run', 'data-name': r.name, 'data-kind': r.kind, 'data-live': String(r.live) },
      h('label', {},
        !r.error && box, h('span', { class: 'swatch', style: `background:${color}` }),
        h('span', { class: 'name' }, r.name), ' ',
        h('span', { class: `badge ${r.kind}` }, r.kind),
        r.live && h('span', { class: 'badge live', 'data-testid': 'live' }, 'live')),
      h('div', { class: 'dim' }, `${r.model} · ${settings(r)}`),
      h('div', { class: 'dim' }, progress(r)),
      figures && h('div', { class: 'figures' }, figures),
      r.error && message('error', r.error));
  }

  private selectedIndex(name: string): number {
    const chosen = this.selected.length > 0 ? this.selected : this.runs.slice(0, 1).map((r) => r.name);
    return Math.max(0, chosen.indexOf(name));
  }

  private async load(name: string): Promise<void> {
    const f: Followed = { records: [] };
    this.data.set(name, f);
    try {
      f.records = await api.metrics(name);
    } catch (e) {
      f.error = errorText(e);
    }
    if (this.data.get(name) !== f) return; // deselected meanwhile
    const info = this.runs.find((r) => r.name === name);
    if (!f.error && info?.live) {
      f.stop = follow(name, f.records.length, {
        record: (r) => {
          f.records.push(r);
          this.scheduleRedraw();
        },
        summary: () => void this.refreshList(),
        reset: () => {
          this.data.delete(name);
          this.sync();
        },
      });
    }
    this.redraw();
  }

  private scheduleRedraw(): void {
    this.redrawTimer ??= setTimeout(() => {
      this.redrawTimer = null;
      this.redraw();
    }, 150);
  }

  private redraw(): void {
    const followed = [...this.data.entries()];
    fill(this.loadErrors, ...followed.filter(([, f]) => f.error).map(([n, f]) => message('error', `Cannot read the records of ${n}: ${f.error}`)));
    const runs = followed.filter(([, f]) => !f.error).map(([name, f]) => ({ name, records: f.records, info: this.runs.find((r) => r.name === name) }));
    const lines = (train: string, val: string) => runs.flatMap(({ name, records }) => {
      const color = PALETTE[this.selectedIndex(name) % PALETTE.length];
      const steps = records.filter((r) => r.event === 'step' && typeof r[train] === 'number');
      const epochs = records.filter((r) => r.event === 'epoch');
      const t = steps.length > 0 ? steps : epochs.filter((r) => typeof r[train] === 'number');
      const v = epochs.filter((r) => typeof r[val] === 'number');
      return [
        { label: `${name} training`, x: t.map((r) => r.step), y: t.map((r) => r[train] as number), color },
        { label: `${name} validation`, x: v.map((r) => r.step), y: v.map((r) => r[val] as number), color, dashed: true },
      ];
    });
    this.charts.loss.set(lines('loss', 'val_loss'));
    this.charts.accuracy.set(lines('accuracy', 'val_accuracy'), 'no accuracy recorded (language models record the loss only)');
    this.charts.lr.set(lines('lr', '').filter((l) => !l.dashed));
    this.charts.throughput.set(runs.map(({ name, records, info }) => throughput(name, records, info, PALETTE[this.selectedIndex(name) % PALETTE.length])),
      'shown from the first step record (--log-every), or each epoch\'s end');
  }

  private details(run: RunInfo): HTMLElement {
    const body = h('div');
    const section = h('div', { 'data-testid': 'detail', 'data-run': run.name }, h('h2', {}, run.name, ' ', h('span', { class: 'dim' }, run.model)), body);
    if (!hasCheckpoint(run)) {
      fill(body, message('note', 'This run has no checkpoint yet: its model appears here after its first epoch (or evaluation).'));
      return section;
    }
    if (run.kind === 'classifier') void classifierDetail(run, body);
    else if (run.kind === 'gpt' || run.kind === 'lstm') {
      fill(body,
        run.summary?.sample && h('section', {}, h('h3', {}, 'Sample written by the run'), h('pre', { class: 'output' }, run.summary.sample)),
        h('section', {}, h('h3', {}, 'Samples from its best checkpoint, generated in this page'), generator(() => run.name, 'sample')));
    } else {
      fill(body, message('note', 'The captioner\'s validation accuracy (exact match) is in the accuracy chart; caption your own writing in the playground.'));
    }
    return section;
  }
}

/** The number of a figure as people read it: accuracies in percent. */
function figure(name: string, v: number): string {
  return /acc/i.test(name) ? percent(v, 2) : formatValue(v);
}

function settings(r: RunInfo): string {
  const o = r.config.options ?? {};
  const pick = (pairs: [string, string][]) => pairs.filter(([k]) => o[k] !== undefined).map(([k, label]) => `${label} ${String(o[k])}`).join(' · ');
  if (r.kind === 'classifier') return pick([['epochs', 'epochs'], ['batchSize', 'batch'], ['optimizer', ''], ['lr', 'lr'], ['schedule', 'schedule'], ['limit', 'images']]).replace(/ {2}/g, ' ');
  if (r.kind === 'captioner') return pick([['steps', 'steps'], ['minutes', 'minutes'], ['batch', 'batch'], ['lr', 'lr']]);
  return pick([['layers', 'layers'], ['embd', 'embd'], ['block', 'block'], ['tokenizer', 'tokens'], ['steps', 'steps'], ['minutes', 'minutes'], ['batch', 'batch'], ['lr', 'lr']]);
}

function progress(r: RunInfo): string {
  const s = r.summary;
  if (!s) return r.live ? 'first epoch under way' : 'no checkpoint yet';
  const where = s.steps !== undefined && r.kind !== 'classifier' ? `step ${s.steps}` : `epoch ${s.epochsDone}/${s.epochs}`;
  return `${where} · ${s.trainSeconds.toFixed(0)} s of training${s.finished ? '' : r.live ? ' · running' : ' · stopped'}`;
}

/**
 * Examples (tokens, for a language model) per second: live from the step records' samplesPerSec,
 * else (runs written before step records had it) over each epoch, from its steps and seconds.
 */
function throughput(name: string, records: MetricsRecord[], info: RunInfo | undefined, color: string): Line {
  const o = info?.config.options ?? {};
  const num = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const lm = info?.kind === 'gpt' || info?.kind === 'lstm';
  const label = `${name} (${lm ? 'tokens' : 'images'}/s)`;
  const live = records.filter((r) => r.event === 'step' && typeof r.samplesPerSec === 'number');
  if (live.length > 0) return { label, x: live.map((r) => r.step), y: live.map((r) => r.samplesPerSec as number), color };
  const perStep = lm ? (num('batch') ?? 0) * (num('block') ?? 0) : num('batchSize') ?? num('batch') ?? 0;
  const x: number[] = [], y: number[] = [];
  let previous = 0;
  for (const r of records) {
    if (r.event !== 'epoch') continue;
    if (typeof r.seconds === 'number' && r.seconds > 0 && perStep > 0) {
      x.push(r.step);
      y.push(((r.step - previous) * perStep) / r.seconds);
    }
    previous = r.step;
  }
  return { label, x, y, color };
}

/** A classifier's analysis (confusion, misclassified images), its first-layer filters and the feature maps of a chosen test image. */
async function classifierDetail(run: RunInfo, body: HTMLElement): Promise<void> {
  const confusion = h('div', {}, message('note', 'Scoring the test images…'));
  const gallery = h('div', { class: 'gallery', 'data-testid': 'gallery' });
  const filters = h('div', {}, message('note', 'Loading the model…'));
  const index = h('input', { type: 'number', min: 0, max: 9999, value: 0, class: 'small', 'aria-label': 'test image', 'data-testid': 'image-index' });
  const maps = h('div');
  fill(body,
    h('section', {}, h('h3', {}, 'Confusion matrix (test images)'), confusion),
    h('section', {}, h('h3', {}, 'Misclassified test images ', h('span', { class: 'dim' }, 'predicted (true) · click one for its feature maps')), gallery),
    h('section', {}, h('h3', {}, 'First-layer filters'), filters),
    h('section', {}, h('h3', {}, 'Feature maps of test image ', index), maps));
  let model: Sequential | null = null;
  const showMaps = async () => {
    if (!model) return;
    const i = Math.max(0, Math.min(9999, Math.round(Number(index.value) || 0)));
    try {
      const img = await api.mnist(i);
      const input = Float32Array.from(img.pixels, (p) => p / 255);
      const layers = activations(model, input);
      const probs = layers.at(-1)!.values;
      const predicted = probs.indexOf(Math.max(...probs));
      fill(maps, h('div', { class: 'row' }, pixels(input, 28, 28, 3), h('span', {}, `true ${img.label}, predicted ${predicted} (${percent(probs[predicted])})`)), featureMaps(layers));
    } catch (e) {
      fill(maps, message('error', errorText(e)));
    }
  };
  index.addEventListener('change', () => void showMaps());
  void api.analysis(run.name).then((a) => {
    fill(confusion, h('p', {}, `${percent(a.accuracy, 2)} of ${a.count.toLocaleString('en-US')} test images right`), confusionTable(a.confusion));
    fill(gallery, ...a.wrong.slice(0, 60).map((w) => h('figure', {
      'data-testid': 'wrong', title: `test image ${w.index}: ${w.label} taken for ${w.predicted} (${percent(w.confidence)})`,
      onclick: () => {
        index.value = String(w.index);
        void showMaps();
      },
    }, h('img', { src: api.mnistPng(w.index), width: 56, height: 56, alt: `test image ${w.index}` }), h('figcaption', {}, `${w.predicted} (${w.label})`))));
    if (a.wrong.length === 0) fill(gallery, message('note', 'None: every test image is right.'));
  }, (e) => {
    fill(confusion, message('error', errorText(e)));
    fill(gallery);
  });
  try {
    const loaded = await loadModel(api.checkpoint(run.name));
    if (!(loaded instanceof Sequential)) throw new Error(`the checkpoint holds a ${loaded.className}, not a Sequential classifier`);
    model = loaded;
    fill(filters, firstFilters(model));
    await showMaps();
  } catch (e) {
    fill(filters, message('error', errorText(e)));
  }
}
