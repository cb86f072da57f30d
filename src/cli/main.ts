// The `tsgrad` command: train, evaluate and predict with the MNIST models; list and compare runs;
// export and import models; benchmark; train, sample and evaluate language models (`tsgrad gpt`).

import { Command } from 'commander';
import '../index.js'; // Node's entry: registers the wasm backend
import { benchCommand } from './bench.js';
import { evaluateCommand } from './evaluate.js';
import { exportCommand, importCommand } from './interop.js';
import { gptCommand } from './gpt.js';
import { predictCommand } from './predict.js';
import { runsCommand } from './runs.js';
import { trainCommand } from './train.js';

const program = new Command('tsgrad')
  .description('tsgrad: deep learning in TypeScript, from MNIST to a language model')
  .version('0.1.0')
  .showSuggestionAfterError(true);

program.addCommand(trainCommand());
program.addCommand(evaluateCommand());
program.addCommand(predictCommand());
program.addCommand(runsCommand());
program.addCommand(exportCommand());
program.addCommand(importCommand());
program.addCommand(benchCommand());
program.addCommand(gptCommand());

await program.parseAsync(process.argv);
