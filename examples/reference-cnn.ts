// The guide's reference-CNN chapter (docs/guide/07-reference-cnn.md): the article's Keras network
// built in tsgrad, its summary, and its parameter count, which the chapter derives by hand.
// Run: node --import tsx examples/reference-cnn.ts

import { layers, sequential } from 'tsgrad';

// Three 3x3 convolutions with ReLU, 2x2 max pooling after the first two only, then one hidden
// dense layer of 64 and the 10-way softmax: the article's code (not its prose, which pools after
// every convolution and has a single dense layer).
const model = sequential([
  layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  layers.flatten(),
  layers.dense({ units: 64, activation: 'relu' }),
  layers.dense({ units: 10, activation: 'softmax' }),
], { name: 'reference_cnn' });
model.summary();
console.log(`parameters: ${model.countParams()}`);
