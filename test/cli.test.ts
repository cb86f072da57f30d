// The `tsgrad` command as a user runs it: train, evaluate and predict on a small MNIST folder,
// --json output, --help, one vocabulary across commands (old spellings kept, runs found by name
// under --runs, tsgrad runs listing each kind of run in its terms), --version, a --help that loads
// no engine, and one clear line with a non-zero exit for every kind of bad input.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { loadMnist } from '../src/data/mnist.js';
import { MODEL_NAMES } from '../src/models/zoo.js';
import { tempDir, writeSmallMnist } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const work = tempDir('cli');

function tsgrad(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A run's checkpoint weights, bytes (weights and optimizer moments). */
const weightsOf = (run: string, checkpoint: string) => fs.readFileSync(path.join(run, 'checkpoints', checkpoint, 'weights.safetensors'));
const optionsOf = (run: string) => JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).options;


const data = path.join(work, 'mnist');
writeSmallMnist(data);
const runs = path.join(work, 'runs');
const ckpt = path.join(runs, 'first');

test('train --json prints only JSON lines and keeps the run: config, metrics, checkpoints, summary', () => {
  const r = tsgrad('train', '--data', data, '--epochs', '2', '--batch-size', '16', '--runs', runs, '--name', 'first', '--log-every', '2', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, ''); // no warning of any kind, Node's included
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.event), ['epoch', 'epoch', 'done']);
  assert.equal(lines[1].epoch, 2);
  assert.ok(lines[0].loss > 0 && lines[0].accuracy >= 0);
  const done = lines[2];
  assert.ok(done.testAccuracy >= 0 && done.testAccuracy <= 1 && done.testLoss > 0);
  assert.equal(done.run, ckpt);
  const config = JSON.parse(fs.readFileSync(path.join(ckpt, 'config.json'), 'utf8'));
  assert.equal(config.options.epochs, 2);
  assert.equal(config.options.batchSize, 16);
  const records = fs.readFileSync(path.join(ckpt, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // 96 images in batches of 16: 6 steps an epoch, a step record every 2 steps.
  assert.deepEqual(records.map((x) => `${x.event}${x.step}`), ['step2', 'step4', 'step6', 'epoch6', 'step8', 'step10', 'step12', 'epoch12']);
  assert.ok(records.every((x) => x.loss > 0 && x.lr === 0.001));
  // Standard output's epoch record is metrics.jsonl's, with the run's length added.
  const kept = records.filter((x) => x.event === 'epoch');
  for (const [i, line] of lines.slice(0, 2).entries()) {
    assert.deepEqual(Object.keys(line).sort(), [...Object.keys(kept[i]), 'epochs'].sort());
    for (const k of ['epoch', 'step', 'loss', 'accuracy', 'lr']) assert.equal(line[k], kept[i][k], k);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(ckpt, 'summary.json'), 'utf8'));
  // The newest checkpoint and the best one (by training accuracy, with no validation data) are kept.
  assert.equal(summary.best.monitor, 'accuracy');
  assert.deepEqual(fs.readdirSync(path.join(ckpt, 'checkpoints')), [...new Set([summary.best.epoch, 2])].sort().map((e) => `epoch-00${e}`));
  assert.equal(summary.test.accuracy, done.testAccuracy);
  assert.equal(summary.epochsDone, 2);

  const e = tsgrad('evaluate', ckpt, '--data', data, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  assert.ok(ev.testAccuracy >= 0 && ev.testLoss > 0);
});

test('train prints Keras-style progress, the test figures and the run', () => {
  const r = tsgrad('train', '--data', data, '--epochs', '1', '--limit', '40', '--runs', runs, '--name', 'text', '--optimizer', 'sgd', '--lr', '0.05', '--seed', '3');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Total params: 93,322/);
  assert.match(r.out, /Training reference in .*text on 40 MNIST images: 1 epoch, batch 32, sgd lr 0.05, augment none, seed 3/);
  assert.match(r.out, /Epoch 1\/1\n2\/2 \[=+\] - \d+s \d+ms\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n/);
  assert.match(r.out, /Test loss: \d\.\d{4} - test accuracy: \d\.\d{4} \(\d+\/50\)/);
  assert.match(r.out, /Run written to .*text/);
  const e = tsgrad('evaluate', path.join(runs, 'text'), '--data', data);
  // A run is evaluated at its best checkpoint, and says which.
  assert.match(e.out, /^Checkpoint \S+checkpoints\/epoch-001 \(the run's best by accuracy, and its newest\)\nTest loss: \d\.\d{4} - test accuracy: \d\.\d{4} on 50 images\n$/);
  const report = tsgrad('evaluate', path.join(runs, 'text'), '--data', data, '--report');
  assert.equal(report.code, 0, report.err);
  assert.match(report.out, /top-3 accuracy: \d\.\d{4}/);
  assert.match(report.out, /precision\s+recall\s+f1/);
  assert.match(report.out, /Confusion matrix \(rows: true digit, columns: predicted\)/);
});

test('--resume ends with the same weights as an uninterrupted run, bit for bit', () => {
  // The strong recipe: batch norm, dropout, augmentation, a warm-up and cosine schedule, validation.
  const common = ['--data', data, '--model', 'strong', '--epochs', '3', '--batch-size', '16', '--limit', '64', '--validation-split', '0.25', '--runs', runs, '--json'];
  assert.equal(tsgrad('train', ...common, '--name', 'whole').code, 0);
  const part = tsgrad('train', ...common, '--name', 'part', '--stop-after', '1');
  assert.equal(part.code, 0, part.err);
  assert.deepEqual(fs.readdirSync(path.join(runs, 'part', 'checkpoints')), ['epoch-001']);
  assert.match(tsgrad('runs', '--runs', runs).out, /\npart\s+strong\s+1\s.*stopped at 1\n/);
  // A run that crashed has no summary: its figures come from its newest checkpoint.
  const summary = path.join(runs, 'part', 'summary.json');
  fs.renameSync(summary, `${summary}.away`);
  const crashed = tsgrad('runs', '--runs', runs);
  fs.renameSync(`${summary}.away`, summary);
  assert.equal(crashed.code, 0, crashed.err);
  assert.match(crashed.out, /\npart\s+strong\s+1\s.*unfinished, 1\/3\n/);
  const resumed = tsgrad('train', '--resume', 'part', '--runs', runs, '--data', data, '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(resumed.out.trim().split('\n').map((l) => JSON.parse(l).epoch ?? 'done'), [2, 3, 'done']);
  const weights = (run: string) => fs.readFileSync(path.join(runs, run, 'checkpoints', 'epoch-003', 'weights.safetensors'));
  assert.ok(weights('whole').equals(weights('part')), 'weights and optimizer state differ');
  const history = (run: string) => JSON.parse(fs.readFileSync(path.join(runs, run, 'summary.json'), 'utf8')).final;
  assert.deepEqual(history('part'), history('whole'));

  const list = tsgrad('runs', '--runs', runs);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^run\s+model\s+epochs\s+best val \(epoch\)\s+train acc\s+test acc\s+test loss\s+time\s+status\n/);
  assert.match(list.out, /\nwhole\s+strong\s+3\s+\d+\.\d\d% \(\d\)\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\d\.\d{4}\s+\d+s\s+finished\n/);
  const compare = tsgrad('runs', 'compare', 'whole', 'text', '--runs', runs);
  assert.equal(compare.code, 0, compare.err);
  assert.match(compare.out, /Settings that differ:\nsetting\s+whole\s+text\n/);
  assert.match(compare.out, /\nmodel\s+"strong"\s+"reference"\n/);
  assert.match(compare.out, /\nepoch\s+loss A\s+loss B/);
});

test('export to TF.js and ONNX, and import from TF.js, keep the predictions', () => {
  const tfjsDir = path.join(work, 'first-tfjs');
  const onnxFile = path.join(work, 'first.onnx');
  const t = tsgrad('export', ckpt, '--format', 'tfjs', '--out', tfjsDir);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /Wrote a TensorFlow\.js LayersModel to .*first-tfjs/);
  assert.ok(fs.existsSync(path.join(tfjsDir, 'model.json')));
  const o = tsgrad('export', ckpt, '--format', 'onnx', '--out', onnxFile);
  assert.equal(o.code, 0, o.err);
  assert.ok(fs.statSync(onnxFile).size > 93322 * 4);
  const back = path.join(work, 'imported');
  const i = tsgrad('import', tfjsDir, '--out', back);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /Wrote checkpoint .*imported \(8 layers, 93,322 parameters\)/);
  const figures = (p: string) => JSON.parse(tsgrad('evaluate', p, '--data', data, '--json').out);
  const { checkpoint, ...fromRun } = figures(ckpt);
  assert.match(checkpoint, /^\/.*checkpoints\/epoch-00\d$/); // a run's: which checkpoint, as an absolute path
  assert.deepEqual(figures(back), fromRun);
});

test('predict gives the top 3 classes for each PNG', () => {
  const files = [0, 1].map((i) => writeDigitPng(path.join(work, `digit${i}.png`), i));
  const r = tsgrad('predict', ckpt, ...files, '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const [i, l] of lines.entries()) {
    assert.equal(l.file, files[i]);
    assert.equal(l.predictions.length, 3);
    const p = l.predictions.map((q: { probability: number }) => q.probability);
    assert.ok(p[0] >= p[1] && p[1] >= p[2] && p[0] + p[1] + p[2] <= 1 + 1e-6);
  }
  const text = tsgrad('predict', ckpt, files[0]);
  assert.match(text.out, /digit0\.png: \d \(\d+\.\d\d%\), \d \(\d+\.\d\d%\), \d \(\d+\.\d\d%\)\n/);
});

test('every command has --help, and the training commands share their flags', () => {
  const commands = [[], ['train'], ['evaluate'], ['predict'], ['runs'], ['runs', 'compare'], ['export'], ['import'], ['bench'],
    ['gpt'], ['gpt', 'train'], ['gpt', 'generate'], ['gpt', 'eval']];
  const help = new Map(commands.map((cmd) => {
    const r = tsgrad(...cmd, '--help');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Usage: tsgrad/);
    return [cmd.join(' '), r.out];
  }));
  for (const flag of ['--batch-size <n>', '--log-every <n>', '--seed <n>', '--name <name>', '--out <dir>', '--runs <dir>', '--resume <run>', '--stop-after <n>', '--json', '--backend <name>', '--on-nan <action>']) {
    assert.match(help.get('train')!, new RegExp(` ${flag}`), `train ${flag}`);
    assert.match(help.get('gpt train')!, new RegExp(` ${flag}`), `gpt train ${flag}`);
  }
  // A run is named under --runs wherever one is read; --out wherever something is written.
  for (const cmd of ['evaluate', 'predict', 'export', 'runs', 'runs compare', 'gpt generate', 'gpt eval']) assert.match(help.get(cmd)!, / --runs <dir>/, cmd);
  for (const cmd of ['train', 'gpt train', 'export', 'import', 'bench']) assert.match(help.get(cmd)!, / --out </, cmd);
  // Whatever replaces an existing file says so with --force; --debug is global.
  for (const cmd of ['export', 'import', 'bench']) assert.match(help.get(cmd)!, / --force /, cmd);
  assert.match(help.get('')!, / --debug /);
  // The old spellings work but are not advertised.
  assert.doesNotMatch(help.get('gpt train')!, /--batch <|--warmup <|--clip </);
  // The CLI lists the zoo's models without loading the zoo.
  assert.match(help.get('train')!.replace(/\s+/g, ' '), new RegExp(`choices: ${MODEL_NAMES.map((m) => `"${m}"`).join(', ')}`));
});

test('--version and -V print the version in package.json', () => {
  const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  for (const flag of ['--version', '-V']) assert.deepEqual(tsgrad(flag), { code: 0, out: `${version}\n`, err: '' });
});

test('--help loads no engine: only the command-line modules (every module loaded is traced)', () => {
  // A module hook (node:module register) writes the URL of every module that loads to a file.
  const dir = tempDir('cli-trace');
  fs.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function load(url, context, next) { fs.appendFileSync(file, url + '\\n'); return next(url, context); }
`);
  fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';
register('./hooks.mjs', import.meta.url, { data: { file: process.env.TSGRAD_TRACE } });
`);
  const loaded = (...args: string[]) => {
    const trace = path.join(dir, `trace-${args.join('-').replace(/\W/g, '_')}.txt`);
    const r = spawnSync(process.execPath, ['--import', path.join(dir, 'register.mjs'), BIN, ...args], { encoding: 'utf8', env: { ...process.env, TSGRAD_TRACE: trace } });
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(trace, 'utf8').trim().split('\n');
  };
  for (const args of [['--help'], ['train', '--help'], ['gpt', 'train', '--help'], ['--version']]) {
    const urls = loaded(...args);
    assert.ok(urls.some((u) => /\/cli\/main\.[jt]s$/.test(u)), `the trace saw no cli/main: ${urls.join(' ')}`);
    const engine = urls.filter((u) => /\/(backend|tensor|autograd|ops|nn|optim|data|io|train|models|server)\/|tfjs|onnx|pngjs/.test(u));
    assert.deepEqual(engine, [], `tsgrad ${args.join(' ')} loaded the engine`);
  }
  // ...while a command does load what it runs (so the trace would see the engine if --help loaded it).
  assert.ok(loaded('runs', '--runs', dir).some((u) => /\/train\/runs\.[jt]s$/.test(u)));
});

test('old spellings give the same run as the new ones: --batch for --batch-size', () => {
  const common = ['--data', data, '--epochs', '1', '--limit', '48', '--runs', runs, '--json'];
  const spelled = [['--batch-size', '16', '--name', 'new-spelling'], ['--batch', '16', '--name', 'old-spelling']];
  for (const flags of spelled) assert.equal(tsgrad('train', ...common, ...flags).code, 0);
  const [a, b] = ['new-spelling', 'old-spelling'].map((n) => path.join(runs, n));
  assert.equal(optionsOf(a).batchSize, 16);
  assert.deepEqual(optionsOf(a), optionsOf(b));
  assert.ok(weightsOf(a, 'epoch-001').equals(weightsOf(b, 'epoch-001')));
  // An alias is checked as its flag is.
  assert.equal(tsgrad('train', '--batch', '0').err, 'tsgrad: --batch must be an integer from 1 to 65536, got "0"\n');
});

test('train --out DIR keeps the run in DIR; a run is found by name under --runs by every command', () => {
  const elsewhere = path.join(work, 'elsewhere'); // not ./runs, where commands look by default
  const out = path.join(elsewhere, 'mine');
  const r = tsgrad('train', '--data', data, '--epochs', '2', '--limit', '48', '--out', out, '--stop-after', '1', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out.trim().split('\n').at(-1)!).run, out);
  assert.ok(fs.existsSync(path.join(out, 'checkpoints', 'epoch-001', 'model.json')));
  // --resume NAME under --runs.
  const resumed = tsgrad('train', '--resume', 'mine', '--runs', 'elsewhere', '--data', data, '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(resumed.out.trim().split('\n').map((l) => JSON.parse(l).epoch ?? 'done'), [2, 'done']);
  // evaluate, predict and export given the run's name.
  const byName = JSON.parse(tsgrad('evaluate', 'mine', '--runs', 'elsewhere', '--data', data, '--json').out);
  assert.deepEqual(byName, JSON.parse(tsgrad('evaluate', out, '--data', data, '--json').out));
  const png = path.join(work, 'digit0.png');
  if (!fs.existsSync(png)) writeDigitPng(png, 0);
  const p = tsgrad('predict', 'mine', png, '--runs', 'elsewhere');
  assert.equal(p.code, 0, p.err);
  assert.equal(p.out, tsgrad('predict', out, png).out);
  const e = tsgrad('export', 'mine', '--runs', 'elsewhere', '--format', 'onnx', '--out', path.join(work, 'mine.onnx'));
  assert.equal(e.code, 0, e.err);
  assert.match(tsgrad('evaluate', 'mine', '--data', data).err, /no such checkpoint: mine/);
  assert.match(tsgrad('train', '--out', out, '--name', 'x').err, /give --out or --name, not both/);
});

test('runs compare A B --runs DIR reads DIR, wherever --runs is typed', () => {
  const elsewhere = path.join(work, 'compared');
  for (const [name, lr] of [['a', '0.001'], ['b', '0.002']]) {
    assert.equal(tsgrad('train', '--data', data, '--epochs', '1', '--limit', '32', '--lr', lr, '--runs', elsewhere, '--name', name, '--json').code, 0);
  }
  for (const args of [['runs', 'compare', 'a', 'b', '--runs', elsewhere], ['runs', '--runs', elsewhere, 'compare', 'a', 'b']]) {
    const r = tsgrad(...args);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Settings that differ:\nsetting\s+a\s+b\nlr\s+0\.001\s+0\.002\n/);
    assert.match(r.out, /\nepoch\s+loss A\s+loss B/);
  }
});

test('tsgrad runs lists each kind of run in its own terms: epochs and accuracy, steps, tokens and validation loss', () => {
  const mixed = path.join(work, 'mixed');
  assert.equal(tsgrad('train', '--data', data, '--epochs', '1', '--limit', '32', '--runs', mixed, '--name', 'digits', '--json').code, 0);
  const text = path.join(work, 'tale.txt');
  fs.writeFileSync(text, 'It was the best of times, it was the worst of times.\n'.repeat(30));
  const lm = ['gpt', 'train', '--text', text, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '8', '--batch-size', '4', '--warmup-steps', '1',
    '--eval-batches', '1', '--eval-every', '2', '--steps', '4', '--runs', mixed, '--json'];
  assert.equal(tsgrad(...lm, '--name', 'words').code, 0);
  assert.equal(tsgrad(...lm, '--name', 'words-part', '--stop-after', '2').code, 0);
  const r = tsgrad('runs', '--runs', mixed);
  assert.equal(r.code, 0, r.err);
  const [digits, words] = r.out.split('\n\n').map((t) => t.replace(/\n?$/, '\n'));
  assert.match(digits, /^run\s+model\s+epochs\s+best val \(epoch\)\s+train acc\s+test acc\s+test loss\s+time\s+status\ndigits\s+reference\s+1\s+-\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\d\.\d{4}\s+\d+s\s+finished\ntest acc and loss: the final weights \(tsgrad evaluate RUN reads the best checkpoint\)\n$/);
  // 4 steps of 4 windows of 8 tokens: 128 tokens.
  assert.match(words, /^run\s+model\s+steps\s+tokens\s+val loss\s+best val loss \(step\)\s+bits\/char\s+time\s+status\n/);
  assert.match(words, /\nwords\s+gpt\s+4\s+128\s+\d\.\d{4}\s+\d\.\d{4} \([24]\)\s+\d\.\d{3}\s+\d+s\s+finished\n/);
  assert.match(words, /\nwords-part\s+gpt\s+2\s+64\s+\d\.\d{4}\s+\d\.\d{4} \(2\)\s+\d\.\d{3}\s+\d+s\s+unfinished, 2\/4\n/);
  const json = JSON.parse(tsgrad('runs', '--runs', mixed, '--json').out) as { name: string; unit: string; steps: number; tokens?: number; totalSteps?: number }[];
  assert.deepEqual(json.map((x) => [x.name, x.unit, x.tokens, x.totalSteps]), [['words-part', 'step', 64, 4], ['words', 'step', 128, 4], ['digits', 'epoch', undefined, undefined]]);
  const c = tsgrad('runs', 'compare', 'words', 'words-part', '--runs', mixed);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /\nstep\s+loss A\s+loss B\s+val_loss A\s+val_loss B\s+lr A\s+lr B\n2\s+(\d\.\d{4}\s+){4}\S+\s+\S+\n4\s+\d\.\d{4}\s+-\s+\d\.\d{4}\s+-\s/);
  assert.match(c.out, /\ntokens\s+128\s+64\n/);
});

test('a warm-up as long as the run or longer: one warning line on stderr, and the run goes on', () => {
  const cnn = tsgrad('train', '--data', data, '--epochs', '1', '--limit', '32', '--schedule', 'cosine', '--warmup-epochs', '1', '--runs', runs, '--name', 'warm', '--json');
  assert.equal(cnn.code, 0, cnn.err);
  assert.equal(cnn.err, 'tsgrad: warning: the learning-rate warm-up (1 epoch) is as long as the run (1 epoch): the rate reaches --lr only at the last step; give fewer --warmup-epochs\n');
  const text = path.join(work, 'warm.txt');
  fs.writeFileSync(text, 'It was the age of wisdom, it was the age of foolishness.\n'.repeat(30));
  const lm = ['gpt', 'train', '--text', text, '--layers', '1', '--heads', '2', '--embd', '16', '--block', '8', '--batch-size', '4', '--eval-batches', '1', '--steps', '3', '--json'];
  const long = tsgrad(...lm, '--out', path.join(work, 'warm-lm'));
  assert.equal(long.code, 0, long.err);
  assert.equal(long.err, 'tsgrad: warning: the learning-rate warm-up (100 steps) is longer than the run (3 steps): the rate never reaches --lr 0.006; give fewer --warmup-steps\n');
  const short = tsgrad(...lm, '--warmup-steps', '2', '--out', path.join(work, 'warm-lm-2'));
  assert.equal(short.code, 0, short.err);
  assert.equal(short.err, '');
});

/** The i-th MNIST test image as a PNG, dark on light and twice the size, as a photo of a digit would be. */
function writeDigitPng(file: string, i: number): string {
  const s = loadMnist({ split: 'test', limit: i + 1 });
  const png = new PNG({ width: 56, height: 56 });
  for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) {
    const v = 255 - Math.round(255 * s.images[i * 784 + Math.floor(y / 2) * 28 + Math.floor(x / 2)]);
    png.data.set([v, v, v, 255], 4 * (y * 56 + x));
  }
  fs.writeFileSync(file, PNG.sync.write(png));
  return file;
}

function badData(name: string, edit: (dir: string) => void): string {
  const dir = path.join(work, name);
  writeSmallMnist(dir);
  edit(dir);
  return dir;
}

test('bad input gives one clear line, a non-zero exit and no stack trace', () => {
  fs.writeFileSync(path.join(work, 'junk.png'), 'not a png');
  const truncated = badData('truncated', (d) => fs.truncateSync(path.join(d, 'train-images-idx3-ubyte'), 5000));
  const magic = badData('magic', (d) => {
    const f = path.join(d, 't10k-labels-idx1-ubyte');
    const b = fs.readFileSync(f);
    b[0] = 7;
    fs.writeFileSync(f, b);
  });
  const mismatch = badData('mismatch', (d) => {
    const f = path.join(d, 'train-labels-idx1-ubyte');
    const b = fs.readFileSync(f);
    b.writeUInt32BE(95, 4);
    fs.writeFileSync(f, b.subarray(0, b.length - 1));
  });
  const missing = badData('missing', (d) => fs.rmSync(path.join(d, 't10k-images-idx3-ubyte')));
  const cases: [string[], RegExp][] = [
    [['train', '--epochs', '1', '--bogus'], /unknown option '--bogus'/],
    [['train', '--epochs', 'five'], /--epochs must be an integer from 1 to 10000, got "five"/],
    [['train', '--epochs', '0'], /--epochs must be an integer from 1/],
    [['train', '--lr', '-1'], /--lr must be a number greater than 0, got "-1"/],
    [['train', '--batch-size', '2.5'], /--batch-size must be an integer/],
    [['train', '--optimizer', 'adagrad'], /'adagrad' is invalid.*adam, adamw, rmsprop, sgd/],
    [['train', '--augment', 'twist=3'], /--augment: unknown transform "twist"/],
    [['train', '--warmup-epochs', '1'], /--warmup-epochs needs --schedule cosine/],
    [['train', '--name', 'a/b'], /--name: "a\/b" may only use letters/],
    [['train', '--name', 'first', '--runs', runs], /run .*first already exists: pick another name, or continue it with --resume .*first/],
    [['train', '--resume', 'nothing', '--runs', runs], /nothing is not a run/],
    [['train', '--resume', 'first', '--runs', runs, '--lr', '0.1'], /only --epochs may change \(got --lr\)/],
    [['train', '--resume', 'first', '--runs', runs], /has already trained 2 of 2 epochs/],
    [['runs', 'compare', 'first', 'nothing', '--runs', runs], /nothing is not a run/],
    [['export', ckpt, '--format', 'keras', '--out', 'x'], /'keras' is invalid.*tfjs, onnx/],
    [['export', ckpt, '--out', 'x'], /required option '--format <name>' not specified/],
    [['import', path.join(work, 'nowhere'), '--out', 'x'], /nowhere/],
    [['train', '--data', path.join(work, 'nowhere')], /no such data folder: .*nowhere/],
    [['train', '--data', truncated, '--epochs', '1'], /train-images-idx3-ubyte: truncated IDX file/],
    [['train', '--data', magic, '--epochs', '1'], /t10k-labels-idx1-ubyte: wrong magic number/],
    [['train', '--data', mismatch, '--epochs', '1'], /image count mismatch: .* has 96 images but .* has 95 labels/],
    [['train', '--data', missing, '--epochs', '1'], /no MNIST test images file/],
    [['evaluate', path.join(work, 'no-ckpt')], /no such checkpoint: .*no-ckpt/],
    [['evaluate', data], /not a tsgrad checkpoint: model\.json is missing/],
    [['predict', ckpt, path.join(work, 'junk.png')], /junk\.png: not a readable PNG image/],
    [['predict', ckpt, path.join(work, 'none.png')], /no such file: .*none\.png/],
    [['predict', ckpt], /missing required argument 'images'/],
    [['fly'], /unknown command 'fly'/],
  ];
  for (const [args, re] of cases) {
    const r = tsgrad(...args);
    const what = `tsgrad ${args.join(' ')}`;
    assert.notEqual(r.code, 0, `${what} exited 0`);
    assert.equal(r.out, '', `${what} printed to stdout: ${r.out}`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `${what} printed ${lines.length} lines:\n${r.err}`);
    assert.match(lines[0], re, what);
    assert.doesNotMatch(r.err, /\n\s+at /, `${what} printed a stack trace`);
  }
});
