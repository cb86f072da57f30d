// The guide's tool chapters (docs/guide/09-monitoring.md and 12-saving-and-exporting.md, English
// and Chinese) say things about what their examples print and about the real runs they quote:
// this checks those sentences against the examples' output and the transcripts' own arithmetic.
// Not for: the code and output blocks themselves (test/guide.test.ts checks those word for word).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EDITIONS, printed, read, ROOT, run } from './guide-examples.js';

test('chapter 9: every file the example\'s run folder holds is one the chapter explains', () => {
  const files = printed('examples/runs.ts', 'files of reference-lr0.001:').split(', ').map((f) => path.basename(f));
  assert.deepEqual([...new Set(files)].sort(), ['config.json', 'metrics.jsonl', 'model.json', 'state.json', 'summary.json', 'weights.safetensors']);
  for (const edition of EDITIONS) {
    const chapter = read(edition, '09-monitoring.md');
    for (const f of ['config.json', 'metrics.jsonl', 'summary.json', 'state.json', 'checkpoints/epoch-NNN/']) assert.ok(chapter.includes(`\`${f}\``), `${edition}: ${f}`);
  }
});

test('chapter 9: the example\'s step counts are its images over its batch size', () => {
  const source = fs.readFileSync(path.join(ROOT, 'examples/runs.ts'), 'utf8');
  const limit = Number(/loadMnist\(\{ limit: (\d+) \}\)/.exec(source)![1]);
  const split = Number(/validationSplit: ([\d.]+)/.exec(source)![1]);
  const perEpoch = Math.ceil((limit * (1 - split)) / Number(/batchSize: (\d+)/.exec(source)![1]));
  assert.match(run('examples/runs.ts'), new RegExp(`epoch 2 ended at step ${2 * perEpoch},`));
  assert.match(run('examples/runs.ts'), new RegExp(`reference-lr0.001: 2 epochs, ${2 * perEpoch} steps`));
});

test('chapter 9: the figures the prose quotes are in the transcripts it quotes them from', () => {
  for (const edition of EDITIONS) {
    const chapter = read(edition, '09-monitoring.md');
    // runs compare: epoch 1's losses, the test accuracies; the confusion matrix's row of 3s.
    for (const figure of ['0.1270', '0.1596', '0.0681', '0.0450', '98.52%', '98.23%', '[0,0,5,986,0,12,0,5,1,1]', '"index":3520,"label":6,"predicted":4']) {
      assert.ok(chapter.includes(figure), `${edition}: ${figure}`);
    }
    // The layer table's shares that the prose adds up: the middle convolution's, and the dense layers'.
    const share = (layer: string) => Number(new RegExp(`^${layer} +\\d+ +\\d+ +([\\d.]+)%`, 'm').exec(chapter)![1]);
    const middle = Math.round(share('conv2d_1') + share('conv2d_1 backward'));
    assert.match(chapter, new RegExp(`(takes|占了) ${middle}% `), `${edition}: the middle convolution's ${middle}%`);
    const dense = (share('dense') + share('dense backward') + share('dense_1') + share('dense_1 backward')).toFixed(1);
    assert.ok(chapter.includes(` ${dense}%`), `${edition}: the dense layers' ${dense}%`);
  }
});

test('chapter 12: the checkpoint\'s sizes are its parameter count in float32, three times over with Adam\'s moments', () => {
  const params = Number(/loaded back: (\d+) parameters/.exec(run('examples/save-load.ts'))![1]);
  assert.equal(printed('examples/save-load.ts', 'weights.safetensors:').includes("optimizer_iterations: '8'"), true);
  for (const edition of EDITIONS) {
    const chapter = read(edition, '12-saving-and-exporting.md');
    assert.equal(Number(/ (\d+) [A-Z][a-z]{2} +\d+ [\d:]+ group1-shard1of1\.bin/.exec(chapter)![1]), 4 * params, `${edition}: the .bin shard`);
    assert.ok(chapter.includes(`${params.toLocaleString('en-US')} x 4`), `${edition}: ${params} x 4`);
    // The ONNX file is the same weights and the graph, whose size the prose gives.
    const onnx = Number(/ (\d+) [A-Z][a-z]{2} +\d+ [\d:]+ reference\.onnx/.exec(chapter)![1]);
    assert.ok(chapter.includes(`${(onnx - 4 * params).toLocaleString('en-US')} `), `${edition}: the graph's ${onnx - 4 * params} bytes`);
    // The run's checkpoint, as the prose gives its size: the weights and Adam's two moments, and a header.
    const checkpoint = Number(/`weights\.safetensors`\s*([\d,]+)/.exec(chapter)![1].replace(/,/g, ''));
    assert.ok(checkpoint > 12 * params && checkpoint < 12 * params + 4096, `${edition}: ${checkpoint} bytes is three copies of the weights and a header`);
  }
});

test('chapter 12: the ONNX export gives tsgrad\'s digits within the tolerance the prose states', () => {
  assert.match(run('examples/export-onnx.ts'), /same digit for 100\/100 images; probabilities within 1e-4: true/);
  for (const edition of EDITIONS) assert.ok(read(edition, '12-saving-and-exporting.md').includes('1e-4'), edition);
});
