// `tsgrad export` and `tsgrad import`: a checkpoint to the TensorFlow.js LayersModel format or to
// ONNX, and a TensorFlow.js LayersModel (saved by TF.js, or converted from Keras by
// tensorflowjs_converter) to a checkpoint. The formats themselves are in src/io.

import { Command, Option } from 'commander';
import { exportTfjs } from '../io/tfjs.js';
import { saveOnnx } from '../io/onnx.js';
import { importTfjs, loadModel } from '../models/load.js';
import { Sequential } from '../train/sequential.js';
import { action } from './common.js';

export function exportCommand(): Command {
  return new Command('export')
    .description('write a checkpoint as a TensorFlow.js LayersModel folder or an ONNX file')
    .argument('<checkpoint>', 'checkpoint folder, or a run folder (runs/<name>: its best checkpoint)')
    .addOption(new Option('--format <name>', 'tfjs (model.json + .bin shards, for tf.loadLayersModel) or onnx (opset 17)').choices(['tfjs', 'onnx']).makeOptionMandatory())
    .requiredOption('--out <path>', 'folder to write (tfjs) or .onnx file (onnx)')
    .action(action((checkpoint: string, opts: { format: 'tfjs' | 'onnx'; out: string }) => {
      const model = loadModel(checkpoint, Sequential);
      if (opts.format === 'tfjs') exportTfjs(model, opts.out);
      else saveOnnx(model, opts.out);
      process.stdout.write(`Wrote ${opts.format === 'tfjs' ? 'a TensorFlow.js LayersModel to' : 'an ONNX model to'} ${opts.out}\n`);
    }));
}

export function importCommand(): Command {
  return new Command('import')
    .description('turn a TensorFlow.js LayersModel (model.json + weights) into a tsgrad checkpoint')
    .argument('<model>', 'the LayersModel folder or its model.json')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .action(action((from: string, opts: { out: string }) => {
      const model = importTfjs(from);
      model.save(opts.out);
      process.stdout.write(`Wrote checkpoint ${opts.out} (${model.layers.length} layers, ${model.countParams().toLocaleString('en-US')} parameters)\n`);
    }));
}
