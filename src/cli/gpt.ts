// `tsgrad gpt`: language models on English text.
//   train     trains a GPT (or the LSTM baseline) on the Brown corpus or a text file, for a number
//             of steps or minutes (10 minutes by default), keeping the run in runs/<name>/ as every
//             run is kept (src/train/runs.ts), then prints a sample. --resume continues a run.
//   generate  continues a prompt from a checkpoint, streaming the text as it is sampled.
//   eval      validation loss, perplexity and bits per character of a checkpoint.
// This file parses flags and calls the library.

import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { check } from '../core/errors.js';
import { loadBrown, loadText, splitText } from '../data/text.js';
import { charTokenizer, trainBpe, type Tokenizer } from '../data/tokenizer.js';
import { Gpt } from '../models/gpt.js';
import { loadLanguageModel, resumeRun } from '../models/load.js';
import { LstmLm } from '../models/lstm-lm.js';
import type { Callback, CallbackModel } from '../train/callbacks.js';
import { checkTokens, evaluateLm, trainLm, type LanguageModel, type LmRun, type LmTrainOptions } from '../train/lm.js';
import { generate } from '../train/lm-generate.js';
import { formatDuration, jsonLines, progressBar } from '../train/progress.js';
import { checkNewRun, openRun, runStamp, startRun, writeSummary } from '../train/runs.js';
import { action, checkResumeFlags, fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './common.js';

const VALIDATION_FRACTION = 0.1;
const DEFAULT_MINUTES = 10;

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

interface TrainFlags extends Partial<Omit<RunOptions, 'text'>> {
  text?: string;
  out?: string;
  runs: string;
  resume?: string;
  stopAfter?: number;
  json?: boolean;
}

export function gptCommand(): Command {
  const gpt = new Command('gpt').description('language models on English text: train a GPT (or an LSTM), generate, evaluate');
  const train = gpt.command('train')
    .description(`train a language model (default: a 4-layer GPT on the Brown corpus's characters for ${DEFAULT_MINUTES} minutes) and print a sample`)
    .option('--text <file>', 'a UTF-8 text file to train on (default: the Brown corpus); its last 10% is held out for validation')
    .addOption(new Option('--tokenizer <kind>', 'char: one token per character; bpe: byte-level BPE trained on the training text').choices(['char', 'bpe']).default('char'))
    .option('--vocab <n>', 'vocabulary size of the BPE tokenizer (256 bytes + merges)', positiveInt)
    .addOption(new Option('--arch <arch>', 'gpt (transformer) or lstm (recurrent baseline)').choices(['gpt', 'lstm']).default('gpt'))
    .option('--layers <n>', 'transformer blocks, or stacked LSTMs (default: gpt 4, lstm 1)', positiveInt)
    .option('--heads <n>', 'attention heads (must divide --embd)', positiveInt, 4)
    .option('--embd <n>', 'embedding width (and LSTM units)', positiveInt, 128)
    .option('--block <n>', 'context length in tokens (the training windows\' length)', positiveInt, 128)
    .option('--dropout <p>', 'dropout on embeddings and residual branches while training', fraction, 0)
    .option('--batch <n>', 'windows per step', positiveInt, 32)
    .option('--steps <n>', 'optimizer steps to train for', positiveInt)
    .option('--minutes <m>', `minutes to train for (the default: ${DEFAULT_MINUTES}); the cosine schedule then follows the time used`, positiveNumber)
    .option('--lr <rate>', 'peak learning rate (after the warm-up; the cosine ends at a tenth of it)', positiveNumber, 6e-3)
    .option('--warmup <steps>', 'steps of linear learning-rate warm-up', nonNegativeInt, 100)
    .option('--weight-decay <w>', 'AdamW decoupled weight decay, on matrices only', nonNegativeNumber, 0.1)
    .option('--clip <norm>', 'clip the gradients to this global norm', positiveNumber, 1)
    .option('--eval-every <n>', 'validation loss and a checkpoint every N steps', positiveInt, 100)
    .option('--eval-batches <n>', 'batches of fixed validation windows per validation', positiveInt, 8)
    .option('--seed <n>', 'seed for initialisation, windows, dropout and the sample', nonNegativeInt, 0)
    .option('--out <dir>', 'the run folder (default: <runs>/<arch>-<date>-<time>)')
    .option('--runs <dir>', 'folder that holds the runs', 'runs')
    .option('--resume <run>', 'continue a run (its folder) from its checkpoint; --steps or --minutes may extend it')
    .option('--stop-after <n>', 'stop after this many steps in all, as if interrupted (--resume continues)', positiveInt)
    .option('--json', 'print one JSON object per line instead of text');
  train.action(action((flags: TrainFlags) => trainLanguageModel(flags, (k) => train.getOptionValueSource(k) === 'cli')));

  gpt.command('generate')
    .description('continue a prompt with a trained language model, streaming the text to stdout')
    .argument('<checkpoint>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('--prompt <text>', 'text to continue (default: the start of a paragraph)', '')
    .option('--tokens <n>', 'tokens to generate', nonNegativeInt, 500)
    .option('--temperature <t>', 'sampling temperature; 0 picks the most likely token every time', nonNegativeNumber, 0.8)
    .option('--top-k <k>', 'sample among the k most likely tokens only', positiveInt)
    .option('--top-p <p>', 'sample from the smallest set of most likely tokens whose probability reaches p', probability)
    .option('--seed <n>', 'seed for sampling', nonNegativeInt, 0)
    .action(action((checkpoint: string, o: { prompt: string; tokens: number; temperature: number; topK?: number; topP?: number; seed: number }) => {
      const { model, tokenizer } = loadLanguageModel(checkpoint);
      const write = (s: string) => process.stdout.write(s);
      write(o.prompt);
      sample(model, tokenizer, o.prompt, { ...o, write });
      write('\n');
    }));

  gpt.command('eval')
    .description('validation loss (nats per token), perplexity and bits per character of a checkpoint on the held-out text')
    .argument('<checkpoint>', 'a run folder (its best checkpoint) or a checkpoint folder')
    .option('--text <file>', 'evaluate on all of this text file instead of the run\'s validation text')
    .option('--batch <n>', 'windows per batch', positiveInt, 32)
    .option('--json', 'print the figures as JSON')
    .action(action((checkpoint: string, o: { text?: string; batch: number; json?: boolean }) => {
      const { model, tokenizer, source = { text: null, validationFraction: VALIDATION_FRACTION } } = loadLanguageModel(checkpoint);
      const text = o.text !== undefined ? loadText(o.text) : splitText(readCorpus(source.text), source.validationFraction).validation;
      const what = o.text ?? `the validation text of ${source.text ?? 'the Brown corpus'}`;
      const s = evaluateLm(model, tokenizer, tokenizer.encode(text), o.batch);
      if (o.json) {
        process.stdout.write(JSON.stringify({ valLoss: s.loss, perplexity: s.perplexity, bitsPerChar: s.bitsPerChar, tokens: s.tokens, chars: s.chars }) + '\n');
        return;
      }
      process.stdout.write(`Validation loss: ${s.loss.toFixed(4)} nats/token - perplexity: ${s.perplexity.toFixed(2)} - ` +
        `bits per character: ${s.bitsPerChar.toFixed(4)} (${what}: ${s.tokens.toLocaleString('en-US')} tokens, ${s.chars.toLocaleString('en-US')} characters)\n`);
    }));
  return gpt;
}

function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1].');
  return n;
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
  const o: RunOptions = {
    arch: f.arch!, text: f.text === undefined ? null : path.resolve(f.text), tokenizer: f.tokenizer!,
    ...(f.tokenizer === 'bpe' ? { vocab: f.vocab ?? 1024 } : {}),
    layers: f.layers ?? (f.arch === 'lstm' ? 1 : 4), heads: f.heads!, embd: f.embd!, block: f.block!, dropout: f.dropout!,
    batch: f.batch!, ...(f.steps !== undefined ? { steps: f.steps } : { minutes: f.minutes ?? DEFAULT_MINUTES }),
    lr: f.lr!, warmup: f.warmup!, weightDecay: f.weightDecay!, clip: f.clip!, beta1: 0.9, beta2: 0.99, minLrFraction: 0.1,
    evalEvery: f.evalEvery!, evalBatches: f.evalBatches!, seed: f.seed!,
  };
  check(o.vocab === undefined || (o.vocab >= 256 && o.vocab <= 65536), `--vocab must be from 256 (the bytes) to 65536, got ${o.vocab}`);
  return o;
}

function buildModel(o: RunOptions, vocabSize: number): LanguageModel {
  if (o.arch === 'lstm') return new LstmLm({ vocabSize, embd: o.embd, units: o.embd, layers: o.layers, block: o.block, dropout: o.dropout }, o.seed);
  return new Gpt({ vocabSize, layers: o.layers, heads: o.heads, embd: o.embd, block: o.block, dropout: o.dropout }, o.seed);
}

const RESUMABLE = ['resume', 'runs', 'steps', 'minutes', 'stopAfter', 'json'];

async function trainLanguageModel(flags: TrainFlags, given: (flag: string) => boolean): Promise<void> {
  const say = (line: string) => flags.json || process.stdout.write(line + '\n');
  const resuming = flags.resume !== undefined;
  let dir: string, o: RunOptions;
  if (resuming) {
    checkResumeFlags(flags, given, RESUMABLE, '--steps or --minutes');
    ({ dir, options: o } = openRun<RunOptions>(flags.resume!, flags.runs));
    check(!(flags.steps !== undefined && flags.minutes !== undefined), '--steps and --minutes both bound the run: give one of them');
    if (flags.steps !== undefined) [o.steps, o.minutes] = [flags.steps, undefined];
    if (flags.minutes !== undefined) [o.steps, o.minutes] = [undefined, flags.minutes];
  } else {
    o = runOptions(flags);
    dir = flags.out ?? path.join(flags.runs, `${o.arch}-${runStamp()}`);
    checkNewRun(dir);
  }

  const text = readCorpus(o.text);
  const { train, validation } = splitText(text, VALIDATION_FRACTION);
  let model: LanguageModel, tokenizer: Tokenizer, resumed: LmRun['resumed'];
  if (resuming) {
    const r = resumeRun(dir);
    check(r?.tokenizer && r.optimizer, `--resume: ${dir} has no checkpoint with a training state yet: start it again`);
    check(!(o.steps !== undefined && r.state.step >= o.steps), `${dir} has already trained ${r.state.step} steps: give a larger --steps to train on`);
    [model, tokenizer, resumed] = [r.model as LanguageModel, r.tokenizer, { state: r.state, optimizer: r.optimizer }];
  } else {
    if (o.tokenizer === 'bpe') say(`Training a BPE tokenizer of ${o.vocab} tokens on the training text...`);
    tokenizer = o.tokenizer === 'char' ? charTokenizer(text) : trainBpe(train, o.vocab!);
    model = buildModel(o, tokenizer.vocabSize);
  }
  const trainIds = tokenizer.encode(train), validationIds = tokenizer.encode(validation);
  checkTokens('training', trainIds.length, o.block);
  checkTokens('validation', validationIds.length, o.block);
  if (!resuming) startRun(dir, { model: o.arch, options: o });
  const params = model.weights.reduce((n, w) => n + w.value.size, 0);
  const length = o.steps !== undefined ? `${o.steps} steps` : `${o.minutes} minutes`;
  say(`${resuming ? `Resuming ${dir} at step ${resumed!.state.step + 1}` : `Training in ${dir}`}: ${o.arch} ${o.layers}x${o.embd}${o.arch === 'gpt' ? `, ${o.heads} heads` : ''}, ` +
    `block ${o.block}, ${params.toLocaleString('en-US')} parameters; ${o.tokenizer} tokenizer (${tokenizer.vocabSize} tokens) on ${o.text ?? 'the Brown corpus'}: ` +
    `${trainIds.length.toLocaleString('en-US')} training and ${validationIds.length.toLocaleString('en-US')} validation tokens`);
  say(`${length}, batch ${o.batch}, AdamW lr ${o.lr} (warm-up ${o.warmup}, cosine to ${+(o.lr * (o.minLrFraction ?? 0.1)).toPrecision(3)}), weight decay ${o.weightDecay}, clip ${o.clip}, seed ${o.seed}`);

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nStopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  let handle: CallbackModel;
  const stop: Callback = {
    setModel: (m) => void (handle = m),
    onBatchEnd: (_batch, _logs, s) => void (handle.stopTraining ||= interrupted || s.step >= (flags.stopAfter ?? Infinity)),
  };
  const result = await trainLm({
    model, tokenizer, train: trainIds, validation: validationIds, source: { text: o.text, validationFraction: VALIDATION_FRACTION },
    options: o, dir, resumed, callbacks: [flags.json ? jsonLines() : progressBar(), stop],
  });
  process.off('SIGINT', onSigint);
  const valLoss = result.history.history.val_loss.at(-1)!;
  const validationChars = [...validation].length;
  const bitsPerChar = (valLoss * validationIds.length) / (validationChars * Math.LN2);
  writeSummary(dir, { finished: result.finished, bitsPerChar });
  if (!result.finished) {
    say(`Stopped at step ${result.step}; continue with: tsgrad gpt train --resume ${dir}`);
    if (flags.json) process.stdout.write(JSON.stringify({ event: 'stopped', step: result.step, run: dir }) + '\n');
    return;
  }
  const sampleTokens = Math.round(300 / Math.max(1, validationChars / validationIds.length));
  let sampleText = '';
  sample(model, tokenizer, '', { tokens: sampleTokens, temperature: 0.8, seed: o.seed, write: (s) => (sampleText += s) });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ event: 'done', step: result.step, valLoss, bitsPerChar, trainSeconds: result.seconds, run: dir, sample: sampleText }) + '\n');
    return;
  }
  say(`Validation loss ${valLoss.toFixed(4)} nats/token (about ${bitsPerChar.toFixed(3)} bits per character) after ${result.step} steps and ${formatDuration(result.seconds)}`);
  say(`Sample (temperature 0.8):\n${sampleText.trim()}\n`);
  say(`Run written to ${dir}. Next: tsgrad gpt generate ${dir} --prompt "The " ; tsgrad gpt eval ${dir}`);
}
