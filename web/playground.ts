// The playground: everything computes in the page, on the library's backend, with no server round
// trip (the server only serves checkpoints and MNIST images). Draw a digit and watch the chosen
// classifier's top probabilities, its 28x28 input and its feature maps; train a small network in
// the page and watch it learn; stream a language model's text; caption a written number.

import { api, type RunInfo } from './api.ts';
import { Chart, PALETTE } from './chart.ts';
import { errorText, fill, h, message, nextFrame, percent, throttle } from './dom.ts';
import { generator, hasCheckpoint } from './lm.ts';
import { Captioner, layers, lenet5, loadModel, referenceCnn, Sequential, sequential, tensor, toCaptionInput, toMnistInput, train, type Callback } from './lib.ts';
import { Pad } from './pad.ts';
import { activations, featureMaps, pixels } from './pictures.ts';

const PAGE_MODEL = 'page';

export class Playground {
  readonly el: HTMLElement;
  private runs: RunInfo[] = [];
  private readonly models = new Map<string, Promise<Sequential>>();
  private pageModel: Sequential | null = null;
  private readonly digit = new DigitPanel((key) => this.model(key));
  private readonly trainer = new TrainPanel((m) => {
    this.pageModel = m;
    this.digit.offer(this.options(), PAGE_MODEL);
  });
  private readonly gptRun = h('select', { 'data-testid': 'gpt-run', 'aria-label': 'language-model run' });
  private readonly gptNote = h('div');
  private readonly caption = new CaptionPanel();

  constructor() {
    this.el = h('div', { class: 'playground' },
      this.digit.el,
      this.trainer.el,
      h('section', { class: 'card', 'data-testid': 'gpt-panel' },
        h('h2', {}, 'Language model'),
        h('p', { class: 'dim' }, 'Pick a GPT or LSTM run, type a prompt, and watch the text come one token at a time.'),
        h('div', { class: 'row' }, h('label', {}, 'Run ', this.gptRun)), this.gptNote,
        generator(() => this.gptRun.value || null, 'gpt')),
      this.caption.el);
  }

  /** Reads the runs again (each time the playground is shown). */
  async refresh(): Promise<void> {
    try {
      this.runs = (await api.runs()).filter(hasCheckpoint);
    } catch (e) {
      this.digit.error(`Cannot list the runs: ${errorText(e)}`);
      return;
    }
    this.digit.offer(this.options());
    const lms = this.runs.filter((r) => r.kind === 'gpt' || r.kind === 'lstm');
    keepOptions(this.gptRun, lms.map((r) => [r.name, `${r.name} (${r.model})`]));
    fill(this.gptNote, lms.length === 0 && message('note', 'No language-model run with a checkpoint yet: train one with tsgrad gpt train.'));
    this.caption.offer(this.runs.filter((r) => r.kind === 'captioner'));
  }

  private options(): [string, string][] {
    const runs = this.runs.filter((r) => r.kind === 'classifier').map((r): [string, string] => [r.name, `${r.name} (${r.model}${r.summary?.test?.accuracy !== undefined ? `, ${percent(r.summary.test.accuracy)}` : ''})`]);
    return this.pageModel ? [[PAGE_MODEL, 'trained in this page'], ...runs] : runs;
  }

  private model(key: string): Promise<Sequential> {
    if (key === PAGE_MODEL && this.pageModel) return Promise.resolve(this.pageModel);
    return runModel(this.models, key, Sequential, 'a classifier');
  }
}

type AnyModel = Awaited<ReturnType<typeof loadModel>>;

/** Run `name`'s model, fetched once (a failed fetch is tried again next time) and checked to be a `kind`. */
function runModel<M extends AnyModel>(cache: Map<string, Promise<M>>, name: string, kind: abstract new (...args: never[]) => M, what: string): Promise<M> {
  let m = cache.get(name);
  if (!m) {
    m = loadModel(api.checkpoint(name)).then((loaded) => {
      if (!(loaded instanceof kind)) throw new Error(`run ${name} holds a ${loaded.className}, not ${what}`);
      return loaded;
    });
    cache.set(name, m);
    m.catch(() => cache.delete(name));
  }
  return m;
}

/** Sets a select's options to `options` ([value, label]), keeping the chosen value when it is still there. */
function keepOptions(select: HTMLSelectElement, options: [string, string][], choose?: string): void {
  const current = choose ?? select.value;
  fill(select, ...options.map(([value, label]) => h('option', { value }, label)));
  if (options.some(([v]) => v === current)) select.value = current;
}

class DigitPanel {
  readonly el: HTMLElement;
  private readonly select = h('select', { 'data-testid': 'model-select', 'aria-label': 'classifier' });
  private readonly note = h('div');
  private readonly top = h('ol', { class: 'top', 'data-testid': 'top-list' });
  private readonly input = h('div', { class: 'input28', 'data-testid': 'input28' });
  private readonly maps = h('div');
  private readonly pad: Pad;

  constructor(private readonly model: (key: string) => Promise<Sequential>) {
    const predict = throttle(() => this.predict(), 120);
    this.pad = new Pad(280, 280, 'pad', () => predict());
    this.select.addEventListener('change', () => predict());
    const clear = h('button', { onclick: () => { this.pad.clear(); predict(); } }, 'Clear');
    this.el = h('section', { class: 'card', 'data-testid': 'digit-panel' },
      h('h2', {}, 'Draw a digit'),
      h('div', { class: 'row' }, h('label', {}, 'Classifier ', this.select), clear),
      this.note,
      h('div', { class: 'row top-aligned' },
        this.pad.canvas,
        h('div', {}, h('h3', {}, 'Top probabilities'), this.top),
        h('div', {}, h('h3', {}, 'What the model reads'), this.input)),
      h('h3', {}, 'Feature maps, layer by layer'), this.maps);
    this.predict();
  }

  /** The classifiers to choose from; `choose` picks one. */
  offer(options: [string, string][], choose?: string): void {
    keepOptions(this.select, options, choose);
    if (options.length === 0) fill(this.note, message('note', 'No classifier run with a checkpoint yet: train one (tsgrad train) or train a small one in this page below.'));
    else fill(this.note);
    if (choose) void this.predict();
  }

  error(text: string): void {
    fill(this.note, message('error', text));
  }

  private async predict(): Promise<void> {
    if (!this.pad.inked) {
      fill(this.top, h('li', { class: 'dim' }, 'draw a digit in the box'));
      fill(this.input);
      fill(this.maps);
      return;
    }
    const x = toMnistInput(this.pad.image());
    fill(this.input, pixels(x, 28, 28, 4, { title: 'toMnistInput: 28x28, white on black, centred as MNIST' }));
    const key = this.select.value;
    if (!key) return;
    try {
      const model = await this.model(key);
      const layers = activations(model, x);
      const probs = distribution(layers.at(-1)!.values);
      const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).slice(0, 5);
      fill(this.top, ...order.map((d) => h('li', { 'data-testid': 'top', 'data-digit': d, 'data-prob': probs[d].toFixed(4) },
        h('span', { class: 'digit' }, d), h('span', { class: 'bar', style: `--p:${probs[d].toFixed(3)}` }), h('span', {}, percent(probs[d])))));
      fill(this.maps, featureMaps(layers.slice(0, -1)));
    } catch (e) {
      fill(this.note, message('error', `Cannot run ${key}: ${errorText(e)}`));
    }
  }
}

/** The model's outputs as probabilities: as they are when they already are (a softmax layer), else softmaxed. */
function distribution(v: Float32Array): number[] {
  const sum = v.reduce((a, b) => a + b, 0);
  if (v.every((p) => p >= 0) && Math.abs(sum - 1) < 1e-3) return Array.from(v);
  const top = Math.max(...v);
  const e = Array.from(v, (z) => Math.exp(z - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((z) => z / total);
}

/** Networks to train in the page. */
const ARCHITECTURES: Record<string, { label: string; build: () => Sequential }> = {
  small: {
    label: 'small CNN (8 and 16 filters, 5,258 weights)',
    build: () => sequential([
      layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }), layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(), layers.dense({ units: 10, activation: 'softmax' }),
    ], { name: 'small_cnn', seed: 1 }),
  },
  reference: { label: 'the reference CNN (93,322 weights)', build: () => referenceCnn({ seed: 1 }) },
  lenet5: { label: 'LeNet-5 (61,706 weights)', build: () => lenet5({ seed: 1 }) },
};

/** MNIST test images fetched so far, by index: kept across trainings. */
const fetched: { pixels: Float32Array; label: number }[] = [];

async function mnistImages(count: number, onProgress: (done: number) => void, stopped: () => boolean): Promise<void> {
  while (fetched.length < count && !stopped()) {
    const from = fetched.length;
    const batch = await api.mnistBatch(from, Math.min(1000, count - from));
    batch.labels.forEach((label, i) => fetched.push({ pixels: Float32Array.from(batch.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255), label }));
    onProgress(fetched.length);
  }
}

class TrainPanel {
  readonly el: HTMLElement;
  private readonly arch = h('select', { 'aria-label': 'network' }, ...Object.entries(ARCHITECTURES).map(([k, a]) => h('option', { value: k }, a.label)));
  private readonly count = h('input', { type: 'number', value: 2000, min: 100, max: 10000, step: 100, class: 'small', 'aria-label': 'images' });
  private readonly epochs = h('input', { type: 'number', value: 2, min: 1, max: 20, class: 'small', 'aria-label': 'epochs' });
  private readonly button = h('button', { 'data-testid': 'train-start' }, 'Train');
  private readonly status = h('p', { class: 'dim', 'data-testid': 'train-status' });
  private readonly note = h('div');
  private readonly loss = new Chart('Loss (solid: training, dashed: validation)', 'chart-page-loss');
  private readonly accuracy = new Chart('Accuracy (solid: training, dashed: validation)', 'chart-page-accuracy');
  private running = false;
  private stop = false;

  constructor(private readonly onTrained: (model: Sequential) => void) {
    this.button.addEventListener('click', () => (this.running ? (this.stop = true) : void this.run()));
    this.el = h('section', { class: 'card', 'data-testid': 'train-panel' },
      h('h2', {}, 'Train a network in this page'),
      h('p', { class: 'dim' }, 'On the first MNIST test images (what the server serves), a tenth held out for validation; Adam, batches of 32. The trained network is then in the classifier list above.'),
      h('div', { class: 'row' }, this.arch, h('label', {}, 'images ', this.count), h('label', {}, 'epochs ', this.epochs), this.button),
      this.status, this.note,
      h('div', { class: 'charts' }, this.loss.el, this.accuracy.el));
  }

  private async run(): Promise<void> {
    this.running = true;
    this.stop = false;
    this.button.textContent = 'Stop';
    fill(this.note);
    const n = Math.max(100, Math.min(10000, Math.round(Number(this.count.value) || 2000)));
    const epochs = Math.max(1, Math.min(20, Math.round(Number(this.epochs.value) || 2)));
    const curves = { loss: [[], [], [], []], accuracy: [[], [], [], []] } as Record<'loss' | 'accuracy', number[][]>;
    const draw = () => (['loss', 'accuracy'] as const).forEach((k) => this[k].set([
      { label: 'training', x: curves[k][0], y: curves[k][1], color: PALETTE[0] },
      { label: 'validation', x: curves[k][2], y: curves[k][3], color: PALETTE[1], dashed: true },
    ]));
    draw();
    try {
      this.status.textContent = 'Fetching images…';
      await mnistImages(n, (done) => (this.status.textContent = `Fetching images: ${done}/${n}`), () => this.stop);
      if (this.stop) throw new Error('stopped before training');
      const x = new Float32Array(n * 784), y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        x.set(fetched[i].pixels, i * 784);
        y[i] = fetched[i].label;
      }
      const model = ARCHITECTURES[this.arch.value].build();
      model.compile({ optimizer: train.adam(0.001), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      let lastYield = performance.now(), lastDraw = 0;
      const started = performance.now();
      let held: { stopTraining: boolean } | null = null;
      const watch: Callback = {
        setModel: (m) => (held = m),
        onBatchEnd: async (_batch, logs, info) => {
          if (this.stop && held) held.stopTraining = true;
          curves.loss[0].push(info.step); curves.loss[1].push(logs.loss);
          curves.accuracy[0].push(info.step); curves.accuracy[1].push(logs.accuracy);
          const now = performance.now();
          if (now - lastDraw > 250) {
            lastDraw = now;
            draw();
            this.status.textContent = `step ${info.step} · loss ${logs.loss.toFixed(3)} · accuracy ${percent(logs.accuracy)} · ${Math.round(info.samplesPerSec)} images/s`;
          }
          // Let the page paint and take input between steps.
          if (now - lastYield > 40) {
            await nextFrame();
            lastYield = performance.now();
          }
        },
        onEpochEnd: (epoch, logs, info) => {
          curves.loss[2].push(info.step); curves.loss[3].push(logs.val_loss);
          curves.accuracy[2].push(info.step); curves.accuracy[3].push(logs.val_accuracy);
          draw();
          this.status.textContent = `epoch ${epoch + 1}/${epochs} · validation accuracy ${percent(logs.val_accuracy)}`;
        },
      };
      await model.fit(tensor(x, [n, 28, 28, 1]), tensor(y, [n], 'int32'), { epochs, batchSize: 32, validationSplit: 0.1, callbacks: [watch], verbose: 0 });
      draw();
      this.status.textContent += ` · ${((performance.now() - started) / 1000).toFixed(1)} s`;
      this.onTrained(model);
    } catch (e) {
      fill(this.note, message(this.stop ? 'note' : 'error', errorText(e)));
    } finally {
      this.running = false;
      this.button.textContent = 'Train';
    }
  }
}

class CaptionPanel {
  readonly el: HTMLElement;
  private readonly select = h('select', { 'data-testid': 'caption-run', 'aria-label': 'captioner run' });
  private readonly note = h('div');
  private readonly input = h('div', { class: 'input-wide' });
  private readonly output = h('p', { class: 'caption', 'data-testid': 'caption-output' });
  private readonly pad: Pad;
  private readonly models = new Map<string, Promise<Captioner>>();

  constructor() {
    const run = throttle(() => this.caption(), 300);
    this.pad = new Pad(448, 112, 'caption-pad', (done) => done && run(), 9);
    this.select.addEventListener('change', () => run());
    const clear = h('button', { onclick: () => { this.pad.clear(); run(); } }, 'Clear');
    this.el = h('section', { class: 'card', 'data-testid': 'caption-panel' },
      h('h2', {}, 'Write a number, read its caption'),
      h('p', { class: 'dim' }, 'Up to four digits, written across the box; the captioner writes it out in words.'),
      h('div', { class: 'row' }, h('label', {}, 'Captioner ', this.select), clear),
      this.note, this.pad.canvas,
      h('div', { class: 'row' }, this.input, this.output));
  }

  offer(runs: RunInfo[]): void {
    keepOptions(this.select, runs.map((r) => [r.name, r.name]));
    fill(this.note, runs.length === 0 && message('note', 'No captioner run with a checkpoint yet: train one with tsgrad caption train.'));
  }

  private async caption(): Promise<void> {
    fill(this.input);
    this.output.textContent = '';
    this.output.dataset.state = 'working';
    try {
      const name = this.select.value;
      if (!this.pad.inked || !name) return;
      const picture = this.pad.image();
      fill(this.input, pixels(toCaptionInput(picture), 112, 28, 3, { title: 'toCaptionInput: 28x112, white on black' }));
      const words = (await runModel(this.models, name, Captioner, 'a Captioner')).caption(picture);
      this.output.textContent = words || '(no words: the model ended the caption at once)';
    } catch (e) {
      fill(this.note, message('error', errorText(e)));
    } finally {
      this.output.dataset.state = 'done';
    }
  }
}
