// The guide's monitoring chapter (docs/guide/09-monitoring.md): two short runs kept from code the
// way `tsgrad train` keeps one (config.json, metrics.jsonl, checkpoints, summary.json), a callback
// of our own watching each epoch, then the runs read back as `tsgrad runs` and the dashboard read them.
// Run: node --import tsx examples/runs.ts

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunTracker, adam, listRuns, loadMnist, referenceCnn, tensor, writeSummary, type Callback } from 'tsgrad';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgrad-runs-'));
const mnist = loadMnist({ limit: 128 }); // 96 to train on, the last 32 held out for validation
const x = tensor(mnist.images, mnist.shape);
const y = tensor(mnist.labels, [mnist.count], 'int32');

// A callback sees what the trainer sees (Keras's events): here, what each epoch's end hands it.
const watch: Callback = {
  onEpochEnd(epoch, logs, info) {
    console.log(`  epoch ${epoch + 1} ended at step ${info.step}, lr ${info.lr}; logs: ${Object.keys(logs).join(', ')}`);
  },
};

// The same network at two learning rates, each run in its own folder under `root`.
for (const lr of [0.001, 0.003]) {
  const name = `reference-lr${lr}`;
  console.log(name);
  const model = referenceCnn({ seed: 0 });
  model.compile({ optimizer: adam({ learningRate: lr }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const run = new RunTracker(path.join(root, name), { monitor: 'val_loss', logEvery: 2, config: { model: 'reference', options: { epochs: 2, lr } } });
  const history = await model.fit(x, y, { epochs: 2, batchSize: 32, validationSplit: 0.25, verbose: 0, callbacks: [watch], run });
  const valLoss = history.history.val_loss;
  console.log(`  val_loss fell: ${valLoss[1] < valLoss[0]}`);
  writeSummary(run.dir, { finished: true });
}

// What a run folder holds: the newest checkpoint and the best one (here the same) are kept.
const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
  .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
console.log('\nfiles of reference-lr0.001:', files(path.join(root, 'reference-lr0.001')).join(', '));
const config = JSON.parse(fs.readFileSync(path.join(root, 'reference-lr0.001', 'config.json'), 'utf8'));
console.log(`config.json: ${Object.keys(config).join(', ')}; options ${JSON.stringify(config.options)}; machine: ${Object.keys(config.machine).join(', ')}`);

// metrics.jsonl: one JSON object per line, a "step" record every 2 steps and an "epoch" record per epoch.
const lines = fs.readFileSync(path.join(root, 'reference-lr0.001', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
console.log(`metrics.jsonl: ${lines.length} records, ${lines.filter((r) => r.event === 'step').length} step and ${lines.filter((r) => r.event === 'epoch').length} epoch`);
console.log('fields of an epoch record:', Object.keys(lines.find((r) => r.event === 'epoch')).join(', '));

// listRuns is what `tsgrad runs` prints: each run's best epoch by its monitor, and where it ended.
const runs = listRuns(root);
for (const r of runs) console.log(`${r.name}: ${r.epochsDone} epochs, ${r.steps} steps, finished ${r.finished}, best ${r.best!.monitor} at epoch ${r.best!.epoch}`);
const lowest = runs.reduce((a, b) => (b.best!.value < a.best!.value ? b : a));
console.log(`lower val_loss: ${lowest.name}`);
fs.rmSync(root, { recursive: true });
