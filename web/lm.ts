// Text from a language model, streamed token by token into the page: each token is one model
// step on the model's cache (what it has read so far), then the browser gets to paint before the
// next. Shared by the playground's GPT panel and the dashboard's samples of a language-model run.

import { h, fill, message, errorText, nextFrame } from './dom.ts';
import { api, type RunInfo } from './api.ts';
import { fetchLanguageModel, generateTokens, type LanguageModel, type Tokenizer } from './lib.ts';

export interface StreamOptions {
  tokens: number;
  temperature: number;
  seed: number;
  /** Checked before each token: true ends the stream. */
  stopped(): boolean;
  /** The generated text so far (decoded from all its tokens, so a character split over tokens comes out whole). */
  onText(text: string): void;
}

export async function streamText(model: LanguageModel, tokenizer: Tokenizer, prompt: string, o: StreamOptions): Promise<void> {
  // An empty prompt starts a paragraph (as the server's predict does).
  let ids = tokenizer.encode(prompt === '' ? '\n' : prompt);
  if (ids.length === 0) ids = Int32Array.of(0);
  const out: number[] = [];
  for (const id of generateTokens(model, ids, { tokens: o.tokens, temperature: o.temperature, seed: o.seed })) {
    out.push(id);
    o.onText(tokenizer.decode(out));
    await nextFrame();
    if (o.stopped()) break;
  }
}

/** Loaded language models by checkpoint URL, so that switching runs back and forth does not fetch again. */
const models = new Map<string, Promise<{ model: LanguageModel; tokenizer: Tokenizer }>>();
function languageModel(run: string) {
  const url = api.checkpoint(run);
  let m = models.get(url);
  if (!m) {
    m = fetchLanguageModel(url);
    models.set(url, m);
    m.catch(() => models.delete(url));
  }
  return m;
}

/** Whether a run has a checkpoint to load (its first evaluation done). */
export const hasCheckpoint = (r: RunInfo) => (r.summary?.epochsDone ?? 0) > 0;

/**
 * A prompt box and a Generate/Stop button streaming a run's text into an output box. `runs` gives
 * the run to use at each click (a fixed one on the dashboard, the chosen one in the playground).
 */
export function generator(run: () => string | null, testid: string): HTMLElement {
  const prompt = h('input', { type: 'text', value: '', placeholder: 'a prompt (empty: a new paragraph)', 'aria-label': 'prompt', 'data-testid': `${testid}-prompt`, class: 'prompt' });
  const tokens = h('input', { type: 'number', value: 300, min: 1, max: 5000, 'aria-label': 'tokens', class: 'small' });
  const temperature = h('input', { type: 'number', value: 0.8, min: 0, max: 2, step: 0.1, 'aria-label': 'temperature', class: 'small' });
  const output = h('pre', { class: 'output', 'data-testid': `${testid}-output` });
  const note = h('div');
  let running = false;
  let stop = false;
  const button = h('button', { 'data-testid': `${testid}-generate`, onclick: () => (running ? (stop = true) : void go()) }, 'Generate');
  async function go() {
    const name = run();
    fill(note);
    if (!name) return fill(note, message('note', 'Pick a language-model run first.'));
    running = true;
    stop = false;
    button.textContent = 'Stop';
    const start = prompt.value;
    const generated = h('span', { class: 'generated' });
    fill(output, h('span', { class: 'dim' }, start), generated);
    output.dataset.state = 'loading';
    try {
      const { model, tokenizer } = await languageModel(name);
      output.dataset.state = 'streaming';
      const n = Math.max(1, Math.min(5000, Math.round(Number(tokens.value) || 300)));
      await streamText(model, tokenizer, start, {
        tokens: n, temperature: Math.max(0, Number(temperature.value) || 0), seed: Date.now() % 2 ** 32,
        stopped: () => stop, onText: (text) => (generated.textContent = text),
      });
    } catch (e) {
      fill(note, message('error', errorText(e)));
    } finally {
      running = false;
      output.dataset.state = 'done';
      button.textContent = 'Generate';
    }
  }
  return h('div', { class: 'generator' },
    h('div', { class: 'row' }, prompt, h('label', {}, 'tokens ', tokens), h('label', {}, 'temperature ', temperature), button),
    note, output);
}
