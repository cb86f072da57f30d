// Convolution helpers (AssemblyScript): im2col copies each output pixel's window into a row of a
// patch matrix (so convolution is one SGEMM), col2im adds patch rows back into an image (the
// adjoint, for the input gradient). The twin of ../../ref/conv.ts. Pointers are byte offsets; a
// geometry is (batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft).

/** Copies `n` floats (a few, or a multiple of 4 with SIMD), or writes zeros when `src` is 0. */
@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (src == 0) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
    return;
  }
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/**
 * Patch rows [rowStart, rowEnd) of x (NHWC); a row is one output pixel, kH * kW * inC long. Where
 * a window row lies inside the image its kW pixels are adjacent in x, so it is one run to copy.
 */
export function im2col(
  x: usize, cols: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, _scratch: usize,
): void {
  const run = kW * inC;
  let ox = rowStart % outW;
  let oy = (rowStart / outW) % outH;
  let b = rowStart / (outW * outH);
  let dst = cols + (<usize>(rowStart * kH * run) << 2);
  for (let r = rowStart; r < rowEnd; r++) {
    const x0 = ox * strideW - padLeft;
    const inside = x0 >= 0 && x0 + kW <= inW;
    for (let ky = 0; ky < kH; ky++, dst += <usize>run << 2) {
      const iy = oy * strideH + ky - padTop;
      if (iy < 0 || iy >= inH) {
        copyRun(dst, 0, run);
      } else if (inside) {
        copyRun(dst, x + (<usize>(((b * inH + iy) * inW + x0) * inC) << 2), run);
      } else {
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx;
          const src = ix < 0 || ix >= inW ? 0 : x + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
          copyRun(dst + (<usize>(kx * inC) << 2), src, inC);
        }
      }
    }
    if (++ox == outW) {
      ox = 0;
      if (++oy == outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/** dx = 0, then adds every patch row of images [batchStart, batchEnd) back where it came from. */
export function col2im(
  cols: usize, dx: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, batchStart: i32, batchEnd: i32, _scratch: usize,
): void {
  const patch = kH * kW * inC;
  const image = inH * inW * inC;
  memory.fill(dx + (<usize>(batchStart * image) << 2), 0, <usize>((batchEnd - batchStart) * image) << 2);
  for (let b = batchStart; b < batchEnd; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let src = cols + (<usize>(((b * outH + oy) * outW + ox) * patch) << 2);
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH + ky - padTop;
          for (let kx = 0; kx < kW; kx++, src += <usize>inC << 2) {
            const ix = ox * strideW + kx - padLeft;
            if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
            const dst = dx + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
            let c = 0;
            for (; c + 4 <= inC; c += 4) {
              const o = <usize>c << 2;
              v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
            }
            for (; c < inC; c++) {
              const o = <usize>c << 2;
              store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
            }
          }
        }
      }
    }
  }
}
