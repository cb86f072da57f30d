// `tsgrad gpt`: language models on English text.
//   train     trains a GPT (or the LSTM baseline) on the Brown corpus or a text file, for a number
//             of steps or minutes (10 minutes by default), keeping the run in runs/<name>/ as every
//             run is kept (src/train/runs.ts), then prints a sample. --resume continues a run.
//   generate  continues a prompt from a checkpoint, streaming the text as it is sampled.
//   eval      validation loss, perplexity and bits per character of a checkpoint.
// This file turns the flags (defined in main.ts) into calls to the library.

import path from 'node:path';
import { check } from '../core/errors.js';
import type { Doc } from '../core/validate.js';
import { loadBrown, loadText, splitText } from '../data/text.js';
import { charTokenizer, countChars, encodeCompact, trainBpe, type Tokenizer } from '../data/tokenizer.js';
import { Gpt } from '../models/gpt.js';
import { loadLanguageModel, resumeRun } from '../models/load.js';
import { LstmLm } from '../models/lstm-lm.js';
import { checkTokens, evaluateLm, trainLm, type LanguageModel, type LmRun, type LmTrainOptions } from '../train/lm.js';
import { generate } from '../train/lm-generate.js';
import { formatDuration, jsonLines, progressBar } from '../train/progress.js';
import { latestCheckpoint, locateRun, writeSummary } from '../train/runs.js';
import type { BackendName } from '../tensor/engine.js';
import { registerNodeBackend, selectBackend } from './backend.js';
import { GPT_MINUTES, plural, type RunPlace } from './common.js';
import { checkBudgetFields, openSteppedRun, trainInterruptibly, warnEndedInWarmup, warnLongWarmup } from './stepped.js';

const VALIDATION_FRACTION = 0.1;

/** A run's settings: its config.json holds them, and --resume reads them back. */
interface RunOptions extends LmTrainOptions {
  arch: 'gpt' | 'lstm';
  text: string | null;
  tokenizer: 'char' | 'bpe';
  vocab?: number;
  layers: number;
  heads: number;
  embd: number;
  block: number;
  dropout: number;
}

/** The flags of `tsgrad gpt train` (main.ts); old spellings (--batch, --warmup, --clip) arrive as the new ones. */
export interface TrainFlags extends RunPlace {
  text?: string;
  tokenizer: 'char' | 'bpe';
  vocab?: number;
  arch: 'gpt' | 'lstm';
  layers?: number;
  heads: number;
  embd: number;
  block: number;
  dropout: number;
  batchSize: number;
  steps?: number;
  minutes?: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  globalClipnorm: number;
  evalEvery: number;
  evalBatches: number;
  logEvery: number;
  seed: number;
  resume?: string;
  stopAfter?: number;
  json?: boolean;
  backend: BackendName;
  /** What a NaN or Inf loss or gradient does (--on-nan): stop the run (the default) or skip the step. */
  onNan?: 'stop' | 'skip';
  profile?: boolean;
}

/** `tsgrad gpt generate`. */
export function generateText(checkpoint: string, o: { prompt: string; tokens: number; temperature: number; topK?: number; topP?: number; seed: number; runs: string }): void {
  registerNodeBackend();
  const { model, tokenizer } = loadLanguageModel(locateRun(checkpoint, o.runs));
  const write = (s: string) => process.stdout.write(s);
  write(o.prompt);
  sample(model, tokenizer, o.prompt, { ...o, write });
  write('\n');
}

/** `tsgrad gpt eval`. */
export function evaluateText(checkpoint: string, o: { text?: string; batchSize: number; runs: string; json?: boolean }): void {
  registerNodeBackend();
  const { model, tokenizer, source } = loadLanguageModel(locateRun(checkpoint, o.runs));
  check(source || o.text !== undefined, `${checkpoint} does not say which text it was trained on (a checkpoint saved from code): give --text FILE`);
  const text = o.text !== undefined ? loadText(o.text) : splitText(readCorpus(source!.text), source!.validationFraction).validation;
  const what = o.text ?? `the validation text of ${source!.text ?? 'the Brown corpus'}`;
  const s = evaluateLm(model, tokenizer, encodeCompact(tokenizer, text), o.batchSize);
  if (o.json) {
    process.stdout.write(JSON.stringify({ valLoss: s.loss, perplexity: s.perplexity, bitsPerChar: s.bitsPerChar, tokens: s.tokens, chars: s.chars }) + '\n');
    return;
  }
  process.stdout.write(`Validation loss: ${s.loss.toFixed(4)} nats/token - perplexity: ${s.perplexity.toFixed(2)} - ` +
    `bits per character: ${s.bitsPerChar.toFixed(4)} (${what}: ${s.tokens.toLocaleString('en-US')} tokens, ${s.chars.toLocaleString('en-US')} characters)\n`);
}

function readCorpus(file: string | null): string {
  const text = file === null ? loadBrown() : loadText(file);
  check(text.trim().length > 0, `${file ?? 'the corpus'}: the text is empty`);
  return text;
}

/** The first token(s) of a sample when no prompt is given: a line break, where a paragraph starts. */
function startOf(tokenizer: Tokenizer, prompt: string): Int32Array {
  if (prompt !== '') return tokenizer.encode(prompt);
  try {
    return tokenizer.encode('\n');
  } catch {
    return Int32Array.of(0); // a char vocabulary without line breaks
  }
}

/**
 * Generates after `prompt` and writes the text as it comes. A BPE token may end inside a
 * character's UTF-8 bytes, so text is written only once it decodes to whole characters.
 */
function sample(model: LanguageModel, tokenizer: Tokenizer, prompt: string,
  o: { tokens: number; temperature: number; topK?: number; topP?: number; seed: number; write: (s: string) => void }): void {
  let pending: number[] = [];
  generate(model, startOf(tokenizer, prompt), {
    ...o,
    onToken(id) {
      pending.push(id);
      const text = tokenizer.decode(pending);
      if (text.endsWith('\uFFFD') && pending.length < 4) return;
      o.write(text);
      pending = [];
    },
  });
  if (pending.length) o.write(tokenizer.decode(pending));
}

function runOptions(f: TrainFlags): RunOptions {
  check(f.steps === undefined || f.minutes === undefined, '--steps and --minutes both bound the run: give one of them');
  check(f.tokenizer === 'bpe' || f.vocab === undefined, '--vocab sets the BPE vocabulary size: use it with --tokenizer bpe');
  // The settings keep the library's names (LmTrainOptions: batch, warmup, clip), as config.json always has.
  const o: RunOptions = {
    arch: f.arch, text: f.text === undefined ? null : path.resolve(f.text), tokenizer: f.tokenizer,
    ...(f.tokenizer === 'bpe' ? { vocab: f.vocab ?? 1024 } : {}),
    layers: f.layers ?? (f.arch === 'lstm' ? 1 : 4), heads: f.heads, embd: f.embd, block: f.block, dropout: f.dropout,
    batch: f.batchSize, ...(f.steps !== undefined ? { steps: f.steps } : { minutes: f.minutes ?? GPT_MINUTES }),
    lr: f.lr, warmup: f.warmupSteps, weightDecay: f.weightDecay, clip: f.globalClipnorm, beta1: 0.9, beta2: 0.99, minLrFraction: 0.1,
    evalEvery: f.evalEvery, evalBatches: f.evalBatches, logEvery: f.logEvery, seed: f.seed,
  };
  check(o.vocab === undefined || (o.vocab >= 256 && o.vocab <= 65536), `--vocab must be from 256 (the bytes) to 65536, got ${o.vocab}`);
  return o;
}

function buildModel(o: RunOptions, vocabSize: number): LanguageModel {
  if (o.arch === 'lstm') return new LstmLm({ vocabSize, embd: o.embd, units: o.embd, layers: o.layers, block: o.block, dropout: o.dropout }, o.seed);
  return new Gpt({ vocabSize, layers: o.layers, heads: o.heads, embd: o.embd, block: o.block, dropout: o.dropout }, o.seed);
}

/** A language-model run's settings as its config.json holds them, checked field by field. */
function readRunOptions(run: { dir: string; model: string; options: RunOptions }, doc: Doc): RunOptions {
  check(run.model === 'gpt' || run.model === 'lstm' || run.model === 'GPT' || run.model === 'LSTMLM',
    `${run.dir} is a ${run.model} run, not a language model's: continue it with tsgrad train --resume`);
  const int = (k: string, min = 0) => doc.at(k).int({ min, max: 2 ** 31 - 1 });
  doc.at('arch').string(['gpt', 'lstm']);
  doc.at('tokenizer').string(['char', 'bpe']);
  if (doc.at('text').present) doc.at('text').string();
  if (doc.at('vocab').present) int('vocab', 256);
  [int('layers', 1), int('heads', 1), int('embd', 1), int('block', 1), doc.at('dropout').number({ min: 0 }), int('evalBatches', 1)];
  checkBudgetFields(doc);
  return run.options;
}

/**
 * The model, its tokenizer and the run's tokens (`resume`: the run to resume and its newest
 * checkpoint, or null for a new model). The text is read, split and encoded here, and only the token arrays and the
 * validation text's length leave: the strings (12 MB for Brown) are garbage by the first step.
 */
function prepareRun(o: RunOptions, resume: { dir: string; checkpoint: string } | null, say: (line: string) => void) {
  const text = readCorpus(o.text);
  const { train, validation } = splitText(text, VALIDATION_FRACTION);
  let model: LanguageModel, tokenizer: Tokenizer, resumed: LmRun['resumed'];
  if (resume !== null) {
    const r = resumeRun(resume.dir);
    check(r?.tokenizer && r.optimizer, `--resume: ${r?.model ? `${resume.checkpoint} is not a language model's checkpoint with its training state` : `${resume.dir} has no checkpoint`}`);
    [model, tokenizer, resumed] = [r.model as LanguageModel, r.tokenizer, { state: r.state, optimizer: r.optimizer }];
  } else {
    if (o.tokenizer === 'bpe') say(`Training a BPE tokenizer of ${o.vocab} tokens on the training text...`);
    tokenizer = o.tokenizer === 'char' ? charTokenizer(text) : trainBpe(train, o.vocab!);
    model = buildModel(o, tokenizer.vocabSize);
  }
  const trainIds = encodeCompact(tokenizer, train), validationIds = encodeCompact(tokenizer, validation);
  checkTokens('training', trainIds.length, o.block);
  checkTokens('validation', validationIds.length, o.block);
  return { model, tokenizer, resumed, trainIds, validationIds, validationChars: countChars(validation) };
}

export async function trainLanguageModel(flags: TrainFlags, given: (flag: string) => boolean): Promise<void> {
  const say = (line: string) => flags.json || process.stdout.write(line + '\n');
  const { dir, options: o, latest, resuming, fromScratch, finishing, doing } = openSteppedRun<RunOptions>(flags, given, {
    resumable: ['backend', 'onNan', 'profile'], prefix: (o) => o.arch, fresh: () => runOptions(flags), read: readRunOptions,
  });
  const reportProfile = selectBackend(flags);

  const { model, tokenizer, resumed, trainIds, validationIds, validationChars } =
    prepareRun(o, resuming && !fromScratch ? { dir, checkpoint: latest!.dir } : null, say);
  if (!resuming) warnLongWarmup(o);
  const params = model.weights.reduce((n, w) => n + w.value.size, 0);
  const length = o.steps !== undefined ? plural(o.steps, 'step') : plural(o.minutes!, 'minute');
  say(`${doing}: ${o.arch} ${o.layers}x${o.embd}${o.arch === 'gpt' ? `, ${o.heads} heads` : ''}, ` +
    `block ${o.block}, ${params.toLocaleString('en-US')} parameters; ${o.tokenizer} tokenizer (${tokenizer.vocabSize} tokens) on ${o.text ?? 'the Brown corpus'}: ` +
    `${trainIds.length.toLocaleString('en-US')} training and ${validationIds.length.toLocaleString('en-US')} validation tokens`);
  say(`${length}, batch ${o.batch}, AdamW lr ${o.lr} (warm-up ${o.warmup} steps, cosine to ${+(o.lr * (o.minLrFraction ?? 0.1)).toPrecision(3)}), weight decay ${o.weightDecay}, global clipnorm ${o.clip}, seed ${o.seed}`);

  let result = { step: latest?.state.step ?? 0, seconds: latest?.state.trainSeconds ?? 0, finished: true };
  if (!finishing) {
    // The run's folder is made by trainLm's tracker once the optimizer's settings are checked too.
    const started = Date.now();
    result = await trainInterruptibly(flags.stopAfter, (stop) => trainLm({
      model, tokenizer, train: trainIds, validation: validationIds, source: { text: o.text, validationFraction: VALIDATION_FRACTION },
      options: o, dir, resumed, callbacks: [flags.json ? jsonLines() : progressBar(), stop], onNan: flags.onNan, runConfig: { model: o.arch, options: o },
    }));
    reportProfile(Date.now() - started);
  }
  const valLoss = latestCheckpoint(dir)!.state.history.history.val_loss.at(-1)!;
  const bitsPerChar = (valLoss * validationIds.length) / (validationChars * Math.LN2);
  warnEndedInWarmup(o, result);
  if (!result.finished) {
    writeSummary(dir, { finished: false, bitsPerChar });
    say(`Stopped at step ${result.step}; continue with: tsgrad gpt train --resume ${dir}`);
    if (flags.json) process.stdout.write(JSON.stringify({ event: 'stopped', step: result.step, run: dir }) + '\n');
    return;
  }
  const sampleTokens = Math.round(300 / Math.max(1, validationChars / validationIds.length));
  let sampleText = '';
  sample(model, tokenizer, '', { tokens: sampleTokens, temperature: 0.8, seed: o.seed, write: (s) => (sampleText += s) });
  // The closing sample is kept with the figures, for the dashboard to show.
  writeSummary(dir, { finished: true, bitsPerChar, sample: sampleText });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ event: 'done', step: result.step, valLoss, bitsPerChar, trainSeconds: result.seconds, run: dir, sample: sampleText }) + '\n');
    return;
  }
  say(`Validation loss ${valLoss.toFixed(4)} nats/token (about ${bitsPerChar.toFixed(3)} bits per character) after ${plural(result.step, 'step')} and ${formatDuration(result.seconds)}`);
  say(`Sample (temperature 0.8):\n${sampleText.trim()}\n`);
  say(`Run written to ${dir}. Next: tsgrad gpt generate ${dir} --prompt "The " ; tsgrad gpt eval ${dir}`);
}
