// Convolution helpers (AssemblyScript): im2col copies each output pixel's window into a row of a
// patch matrix (so convolution is one SGEMM), col2im adds patch rows back into an image (the
// adjoint, for the input gradient). The twin of ../../ref/conv.ts. Pointers are byte offsets; a
// geometry is (batch, inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft).

/** Patch rows [rowStart, rowEnd) of x (NHWC); a row is one output pixel, kH * kW * inC long. */
export function im2col(
  x: usize, cols: usize, batch: i32, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, rowStart: i32, rowEnd: i32, _scratch: usize,
): void {
  const patch = kH * kW * inC;
  const rowBytes = <usize>inC << 2;
  for (let r = rowStart; r < rowEnd; r++) {
    const ox = r % outW;
    const oy = (r / outW) % outH;
    const b = r / (outW * outH);
    let dst = cols + (<usize>(r * patch) << 2);
    for (let ky = 0; ky < kH; ky++) {
      const iy = oy * strideH + ky - padTop;
      for (let kx = 0; kx < kW; kx++, dst += rowBytes) {
        const ix = ox * strideW + kx - padLeft;
        const outside = iy < 0 || iy >= inH || ix < 0 || ix >= inW;
        const src = x + (<usize>(((b * inH + iy) * inW + ix) * inC) << 2);
        // A call to memory.copy costs more than moving a few hundred bytes by hand.
        if ((inC & 3) == 0) {
          const zero = f32x4.splat(0);
          for (let o: usize = 0; o < rowBytes; o += 16) v128.store(dst + o, outside ? zero : v128.load(src + o));
        } else {
          for (let c = 0; c < inC; c++) store<f32>(dst + (<usize>c << 2), outside ? 0 : load<f32>(src + (<usize>c << 2)));
        }
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
