// Elementwise kernels (AssemblyScript): unary functions, and binary operations with NumPy
// broadcasting. The twin of ../../ref/elementwise.ts, which is the specification; the op codes
// are those of ./opcodes.ts.

import { Binary, Unary } from './opcodes';
import { exp1, exp4 } from './simd';

const GELU_C: f32 = 1.5957691216; // 2 sqrt(2 / pi)

/** sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)): GELU(x) = x * this. */
@inline function geluGate4(x: v128): v128 {
  const inner = f32x4.mul(f32x4.splat(GELU_C), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), f32x4.mul(x, f32x4.mul(x, x)))));
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(inner))));
}

@inline function gelu4(x: v128): v128 {
  return f32x4.mul(x, geluGate4(x));
}

/** g * GELU'(x) = g (s + x s (1 - s) inner'(x)), s the gate. */
@inline function geluGrad4(g: v128, x: v128): v128 {
  const s = geluGate4(x);
  const slope = f32x4.mul(f32x4.splat(GELU_C), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * 0.044715), f32x4.mul(x, x))));
  const ds = f32x4.mul(f32x4.mul(s, f32x4.sub(f32x4.splat(1), s)), f32x4.mul(x, slope));
  return f32x4.mul(g, f32x4.add(s, ds));
}

/** GELU of one number (a call, not inlined: keeps the generic switches small for the hot ops). */
function gelu1(x: f32): f32 {
  return f32x4.extract_lane(gelu4(f32x4.splat(x)), 0);
}

function geluGrad1(g: f32, x: f32): f32 {
  return f32x4.extract_lane(geluGrad4(f32x4.splat(g), f32x4.splat(x)), 0);
}

@inline function unaryOf(op: i32, x: f32): f32 {
  switch (op) {
    case Unary.neg: return -x;
    case Unary.exp: return exp1(x);
    case Unary.log: return Mathf.log(x);
    case Unary.sqrt: return Mathf.sqrt(x);
    case Unary.abs: return Mathf.abs(x);
    case Unary.sign: return x > 0 ? 1 : x < 0 ? -1 : x; // keeps 0, -0 and NaN as Math.sign does
    case Unary.relu: return x > 0 ? x : 0;
    case Unary.sigmoid: return 1 / (1 + exp1(-x));
    case Unary.tanh: return <f32>Math.tanh(<f64>x);
    default: return gelu1(x); // Unary.gelu
  }
}

/** out[i] = f(x[i]) for i in [start, end). */
export function unary(op: i32, x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  if (op == Unary.relu) { // the hot one, four at a time
    const zero = f32x4.splat(0);
    for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), f32x4.max(v128.load(x + (<usize>i << 2)), zero));
  } else if (op == Unary.exp) {
    for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), exp4(v128.load(x + (<usize>i << 2))));
  } else if (op == Unary.sigmoid) {
    const one = f32x4.splat(1);
    for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(v128.load(x + (<usize>i << 2)))))));
  } else if (op == Unary.gelu) {
    for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), gelu4(v128.load(x + (<usize>i << 2))));
  }
  for (; i < end; i++) store<f32>(out + (<usize>i << 2), unaryOf(op, load<f32>(x + (<usize>i << 2))));
}

@inline function binaryOf(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case Binary.add: return a + b;
    case Binary.sub: return a - b;
    case Binary.mul: return a * b;
    case Binary.div: return a / b;
    case Binary.greater: return a > b ? 1 : 0;
    case Binary.equal: return a == b ? 1 : 0;
    case Binary.reluGrad: return b > 0 ? a : 0; // a is the gradient, b the ReLU's input
    case Binary.addRelu: return max<f32>(a + b, 0);
    default: return geluGrad1(a, b); // Binary.geluGrad
  }
}

@inline function binaryOf4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case Binary.add: return f32x4.add(a, b);
    case Binary.sub: return f32x4.sub(a, b);
    case Binary.mul: return f32x4.mul(a, b);
    case Binary.div: return f32x4.div(a, b);
    case Binary.greater: return v128.and(f32x4.gt(a, b), f32x4.splat(1));
    case Binary.equal: return v128.and(f32x4.eq(a, b), f32x4.splat(1));
    case Binary.reluGrad: return v128.and(a, f32x4.gt(b, f32x4.splat(0)));
    default: return f32x4.max(f32x4.add(a, b), f32x4.splat(0)); // Binary.addRelu (geluGrad has its own loop)
  }
}

/**
 * out (outer rows of `count`) = a op b, for rows [start, end). Row r of out starts at r * count;
 * an operand's row r starts at r * its row stride, or, when it has an index table (`aRows`/`bRows`
 * non-zero: int32, one per row), where the table says. Along a row they step by `da`/`db` (1, or 0
 * when broadcast).
 */
export function binary(
  op: i32, a: usize, b: usize, out: usize, count: i32, aRows: usize, bRows: usize, aStride: i32, bStride: i32,
  da: i32, db: i32, start: i32, end: i32, _scratch: usize,
): void {
  for (let r = start; r < end; r++) {
    const pa = a + (<usize>(aRows ? load<i32>(aRows + (<usize>r << 2)) : r * aStride) << 2);
    const pb = b + (<usize>(bRows ? load<i32>(bRows + (<usize>r << 2)) : r * bStride) << 2);
    const po = out + (<usize>(r * count) << 2);
    let i = 0;
    if (op == Binary.geluGrad) {
      // scalar below: geluGrad comes same-shaped, through binaryFlat's vector loop
    } else if (da == 1 && db == 1) {
      for (; i + 4 <= count; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, binaryOf4(op, v128.load(pa + o), v128.load(pb + o)));
      }
    } else if (da == 1 && db == 0) {
      const vb = v128.load32_splat(pb);
      for (; i + 4 <= count; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, binaryOf4(op, v128.load(pa + o), vb));
      }
    } else if (da == 0 && db == 1) {
      const va = v128.load32_splat(pa);
      for (; i + 4 <= count; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, binaryOf4(op, va, v128.load(pb + o)));
      }
    }
    for (; i < count; i++) {
      store<f32>(po + (<usize>i << 2), binaryOf(op, load<f32>(pa + (<usize>(i * da) << 2)), load<f32>(pb + (<usize>(i * db) << 2))));
    }
  }
}

/**
 * out[i] = a[i] op b[i] for i in [start, end), where an operand with `da`/`db` 0 is one number
 * broadcast to all: same-shaped operands split by elements, so that every thread takes a share.
 */
export function binaryFlat(op: i32, a: usize, b: usize, out: usize, da: i32, db: i32, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  if (op == Binary.geluGrad) {
    if (da == 1 && db == 1) {
      for (; i + 4 <= end; i += 4) {
        const o = <usize>i << 2;
        v128.store(out + o, geluGrad4(v128.load(a + o), v128.load(b + o)));
      }
    }
  } else if (da == 1 && db == 1) {
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryOf4(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (da == 1) {
    const vb = v128.load32_splat(b);
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryOf4(op, v128.load(a + o), vb));
    }
  } else {
    const va = v128.load32_splat(a);
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, binaryOf4(op, va, v128.load(b + o)));
    }
  }
  for (; i < end; i++) {
    store<f32>(out + (<usize>i << 2), binaryOf(op, load<f32>(a + (<usize>(i * da) << 2)), load<f32>(b + (<usize>(i * db) << 2))));
  }
}
