// `tsgrad export` and `tsgrad import`: a checkpoint to the TensorFlow.js LayersModel format or to
// ONNX, and a TensorFlow.js LayersModel (saved by TF.js, or converted from Keras by
// tensorflowjs_converter) to a checkpoint. The formats themselves are in src/io; the flags are
// defined in main.ts.

import { exportTfjs } from '../io/tfjs.js';
import { saveOnnx } from '../io/onnx.js';
import { importTfjs, loadModel } from '../models/load.js';
import { locateRun } from '../train/runs.js';
import { Sequential } from '../train/sequential.js';
import { registerNodeBackend } from './backend.js';

export function exportModel(checkpoint: string, opts: { format: 'tfjs' | 'onnx'; out: string; runs: string }): void {
  registerNodeBackend();
  const model = loadModel(locateRun(checkpoint, opts.runs), Sequential);
  if (opts.format === 'tfjs') exportTfjs(model, opts.out);
  else saveOnnx(model, opts.out);
  process.stdout.write(`Wrote ${opts.format === 'tfjs' ? 'a TensorFlow.js LayersModel to' : 'an ONNX model to'} ${opts.out}\n`);
}

export function importModel(from: string, opts: { out: string }): void {
  registerNodeBackend();
  const model = importTfjs(from);
  model.save(opts.out);
  process.stdout.write(`Wrote checkpoint ${opts.out} (${model.layers.length} layers, ${model.countParams().toLocaleString('en-US')} parameters)\n`);
}
