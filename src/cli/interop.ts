// `tsgrad export` and `tsgrad import`: a checkpoint to the TensorFlow.js LayersModel format, to
// ONNX (a Sequential's layers, or a GPT's or LSTM language model's token ids to logits) or a GPT to
// a PyTorch / Hugging Face GPT-2 folder; and a TensorFlow.js LayersModel (saved by TF.js, or
// converted from Keras by tensorflowjs_converter) or such a GPT-2 folder to a checkpoint. The formats themselves are in src/io; the flags are
// defined in main.ts. Both read and check everything before writing anything, never write over or
// inside their own input, replace an existing --out only with --force (and only one of the kind
// they write), and write it whole or not at all (a temporary, then a rename).

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeFolderAtomic } from '../io/files.js';
import { check } from '../core/errors.js';
import { exportOnnx } from '../io/onnx.js';
import { exportLmOnnx } from '../io/onnx-lm.js';
import { exportPytorch, importPytorch, isGpt2Folder } from '../io/pytorch.js';
import { exportTfjs } from '../io/tfjs.js';
import { saveModel } from '../io/checkpoint.js';
import { importTfjs, loadLanguageModel, loadModel } from '../models/load.js';
import { locateRun, resolveCheckpoint } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import type { Gpt } from '../models/gpt.js';
import { registerNodeBackend } from './backend.js';
import { checkOutput } from './common.js';

const hasModelJson = (dir: string) => fs.existsSync(path.join(dir, 'model.json'));

export function exportModel(checkpoint: string, opts: { format: 'tfjs' | 'onnx' | 'pytorch'; out: string; runs: string; force?: boolean }): void {
  const input = locateRun(checkpoint, opts.runs);
  if (opts.format === 'pytorch') return exportPytorchFolder(input, opts);
  const tfjs = opts.format === 'tfjs';
  checkOutput(opts.out, {
    kind: tfjs ? 'folder' : 'file', force: opts.force, inputs: [input], isOurs: tfjs ? hasModelJson : undefined,
    what: tfjs ? 'a TensorFlow.js model folder' : 'an ONNX file',
  });
  registerNodeBackend();
  const model = loadModel(input);
  const languageModel = model.className === 'GPT' || model.className === 'LSTMLM';
  check(model instanceof Sequential || (languageModel && !tfjs), () => `${resolveCheckpoint(input)} holds a ${model.className} model: `
    + (tfjs ? `TensorFlow.js export takes Sequential models only${languageModel ? ' (export a language model with --format onnx)' : ''}`
      : 'ONNX export takes Sequential models, the GPT and the LSTM language model'));
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  if (!(model instanceof Sequential)) writeFileAtomic(opts.out, exportLmOnnx(model));
  else if (tfjs) writeFolderAtomic(opts.out, (tmp) => exportTfjs(model, tmp));
  else writeFileAtomic(opts.out, exportOnnx(model));
  process.stdout.write(`Wrote ${tfjs ? 'a TensorFlow.js LayersModel to' : 'an ONNX model to'} ${opts.out}\n`);
}

function exportPytorchFolder(input: string, opts: { out: string; force?: boolean }): void {
  checkOutput(opts.out, { kind: 'folder', force: opts.force, inputs: [input], isOurs: isGpt2Folder, what: 'a PyTorch GPT-2 folder' });
  registerNodeBackend();
  const { model, tokenizer } = loadLanguageModel(input);
  check(model.className === 'GPT', () => `${resolveCheckpoint(input)} holds a ${model.className} model: PyTorch export takes the GPT only (export the LSTM language model with --format onnx)`);
  const files = exportPytorch(model as Gpt, tokenizer);
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  writeFolderAtomic(opts.out, (tmp) => {
    fs.mkdirSync(tmp);
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), data);
  });
  process.stdout.write(`Wrote a PyTorch GPT-2 folder (model.safetensors, config.json, tokenizer, model.py) to ${opts.out}\n`);
}

export function importModel(from: string, opts: { out: string; force?: boolean }): void {
  if (isGpt2Folder(from)) return importGpt2Folder(from, opts);
  // The model's folder is the input, whether it was named or its model.json was.
  const isFile = fs.existsSync(from) && !fs.statSync(from).isDirectory();
  checkOutput(opts.out, { kind: 'folder', force: opts.force, inputs: [isFile ? path.dirname(from) : from], isOurs: hasModelJson, what: 'a checkpoint folder' });
  registerNodeBackend();
  const model = importTfjs(from);
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  writeFolderAtomic(opts.out, (tmp) => model.save(tmp));
  process.stdout.write(`Wrote checkpoint ${opts.out} (${model.layers.length} layers, ${model.countParams().toLocaleString('en-US')} parameters)\n`);
}

/** A GPT-2 folder (config.json with model_type "gpt2", model.safetensors, a tokenizer) to a GPT checkpoint. */
function importGpt2Folder(from: string, opts: { out: string; force?: boolean }): void {
  checkOutput(opts.out, { kind: 'folder', force: opts.force, inputs: [from], isOurs: hasModelJson, what: 'a checkpoint folder' });
  registerNodeBackend();
  const { model, tokenizer } = importPytorch(from);
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  writeFolderAtomic(opts.out, (tmp) => saveModel(model, tmp, { tokenizer: tokenizer.toJSON(), training: null }));
  const c = model.config;
  process.stdout.write(`Wrote checkpoint ${opts.out} (a GPT of ${c.layers} layers, ${c.embd} channels, ${c.vocabSize} tokens; tsgrad gpt eval needs --text)\n`);
}
