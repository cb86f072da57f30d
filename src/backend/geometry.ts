// Window geometry shared by convolution and pooling kernels (NHWC, TensorFlow's padding rules).

import { check } from '../core/errors.js';
import { formatShape, type Shape } from '../core/shape.js';

export type Padding = 'valid' | 'same';

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  /** Output channels: filters for convolution, inC for pooling. */
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/**
 * `valid` uses only whole windows; `same` pads so that out = ceil(in / stride), putting the odd
 * pixel of padding at the bottom/right as TensorFlow and Keras do.
 */
export function windowGeometry(
  xShape: Shape, kH: number, kW: number, outC: number | undefined,
  strides: readonly [number, number], padding: Padding,
): ConvGeometry {
  check(xShape.length === 4, () => `expected an NHWC input of rank 4, got shape ${formatShape(xShape)}`);
  const [batch, inH, inW, inC] = xShape;
  const [strideH, strideW] = strides;
  check(strideH >= 1 && strideW >= 1 && Number.isInteger(strideH) && Number.isInteger(strideW),
    `strides must be positive integers, got [${strides.join(', ')}]`);
  let outH: number, outW: number, padTop = 0, padLeft = 0;
  if (padding === 'valid') {
    check(inH >= kH && inW >= kW,
      `a ${kH}x${kW} window does not fit an input of ${inH}x${inW} with 'valid' padding`);
    outH = Math.floor((inH - kH) / strideH) + 1;
    outW = Math.floor((inW - kW) / strideW) + 1;
  } else {
    outH = Math.ceil(inH / strideH);
    outW = Math.ceil(inW / strideW);
    padTop = Math.floor(Math.max((outH - 1) * strideH + kH - inH, 0) / 2);
    padLeft = Math.floor(Math.max((outW - 1) * strideW + kW - inW, 0) / 2);
  }
  return { batch, inH, inW, inC, outH, outW, outC: outC ?? inC, kH, kW, strideH, strideW, padTop, padLeft };
}
