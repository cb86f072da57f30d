// On-the-fly image augmentation for NHWC float32 batches: random rotation, zoom and shift (one
// affine map per image, with Keras ImageDataGenerator's option names) and elastic distortion
// (Simard, Steinkraus and Platt 2003: uniform random displacement fields smoothed by a Gaussian
// of `elasticSigma` pixels and scaled by `elasticAlpha` pixels), all sampled bilinearly in one pass.
// Seeded: the same seed and the same sequence of batches give the same images. Labels are not
// touched; image i of the output comes from image i of the input.
// Not for: colour jitter, flips, crops, or anything on tensors that need gradients (it runs in plain
// TypeScript over the batch, plus two matmuls for the elastic fields: about 25 µs of CPU per 28x28
// image with every transform on, against about 1 ms of CPU per image for training the reference CNN).

import { check } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { formatShape } from '../core/shape.js';
import { persistent, tidy } from '../tensor/memory.js';
import { matmul } from '../tensor/ops.js';
import { allocate, tensor, type Tensor } from '../tensor/tensor.js';

/** A symmetric range [-v, v], or [lo, hi]. */
export type Range = number | [number, number];

/**
 * Options of {@link augmenter}: random rotations, zooms, shifts and elastic distortions of image
 * batches, as Keras's ImageDataGenerator (all off by default).
 */
export interface AugmentOptions {
  /** Degrees; positive turns the image counter-clockwise as displayed. */
  rotationRange?: Range;
  /**
   * Zoom factors, drawn separately for width and height in [1 - z, 1 + z] (or [lo, hi]). As in
   * Keras's ImageDataGenerator they scale the sampling grid: below 1 enlarges the content.
   */
  zoomRange?: Range;
  /** Horizontal shift, as a fraction of the width when |v| < 1, else in pixels; positive moves content right. */
  widthShiftRange?: Range;
  /** Vertical shift, as a fraction of the height when |v| < 1, else in pixels; positive moves content down. */
  heightShiftRange?: Range;
  /** Elastic displacement scale in pixels (Simard et al. use 34 on MNIST); 0 turns it off. */
  elasticAlpha?: number;
  /** Standard deviation in pixels of the Gaussian smoothing the displacement fields (Simard et al.: 4). */
  elasticSigma?: number;
  /** Points sampled outside the image: the edge pixel ('nearest', Keras's default) or `cval` ('constant'). */
  fillMode?: 'nearest' | 'constant';
  /** The value of points sampled outside the image when fillMode is 'constant' (default 0). */
  cval?: number;
  /** Seeds the augmenter's own generator (default 0)... */
  seed?: number;
  /** ...or the generator to draw from, e.g. one whose state a run saves and restores for exact resume. */
  rng?: Rng;
}

// Sensible limits, so that no option can overflow the sampling coordinates to NaN or ask for a
// Gaussian kernel of billions of taps: a turn either way, zooms up to 10x, shifts up to 10000
// pixels, displacements up to 1000 pixels smoothed over up to 100.
const LIMITS = { rotationRange: 360, zoomRange: 10, widthShiftRange: 10000, heightShiftRange: 10000 } as const;

/** [lo, hi] of a range option: finite, lo <= hi, both within +-limit. */
function bounds(name: keyof typeof LIMITS, r: Range | undefined, given: unknown = r): [number, number] {
  const pair = r === undefined ? [0, 0] : typeof r === 'number' ? [-Math.abs(r), Math.abs(r)] : r;
  const [lo, hi] = Array.isArray(pair) && pair.length === 2 ? pair : [NaN, NaN];
  const limit = LIMITS[name];
  check(typeof lo === 'number' && typeof hi === 'number' && Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi && Math.abs(lo) <= limit && Math.abs(hi) <= limit,
    `${name} must be a number or [low, high], finite, within ${limit} either way, got ${JSON.stringify(given)}`);
  return [lo, hi];
}

/** A finite number option in [min, max] (or, with `open`, above min). */
function option(name: string, v: unknown, min: number, max: number, open = false): number {
  check(typeof v === 'number' && Number.isFinite(v) && (open ? v > min : v >= min) && v <= max,
    `${name} must be a finite number ${open ? 'above' : 'from'} ${min} ${open ? 'up ' : ''}to ${max}, got ${typeof v === 'number' ? v : JSON.stringify(v)}`);
  return v;
}

/** Shifts in pixels for an image side of `size`: fractions when every |bound| < 1 (as Keras). */
function shiftBounds(name: 'widthShiftRange' | 'heightShiftRange', r: Range | undefined, size: number): [number, number] {
  const [lo, hi] = bounds(name, r);
  return Math.max(-lo, hi) < 1 ? [lo * size, hi * size] : [lo, hi];
}

/** The taps of a normalised Gaussian, exp(-t²/2σ²) for t in [-radius, radius], radius = ceil(3σ). */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let t = -radius; t <= radius; t++) total += k[t + radius] = Math.exp(-(t * t) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= total;
  return k;
}

/**
 * A function from an (N, H, W, C) float32 batch to a new, augmented batch of the same shape, for
 * Sequential.fit's `augment` option. Each call draws fresh transforms for every image from its
 * generator (`rng`, or one seeded by `seed`).
 */
export function augmenter(options: AugmentOptions = {}): (x: Tensor) => Tensor {
  check(options.seed === undefined || Number.isSafeInteger(options.seed), `seed must be an integer, got ${options.seed}`);
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const [rotLo, rotHi] = bounds('rotationRange', options.rotationRange);
  const zoom = options.zoomRange;
  const [zoomLo, zoomHi] = typeof zoom === 'number' ? bounds('zoomRange', [1 - zoom, 1 + zoom], zoom) : bounds('zoomRange', zoom ?? [1, 1]);
  check(zoomLo > 0, `zoomRange must keep zoom factors positive, got ${JSON.stringify(zoom)}`);
  // Shifts are turned into pixels per batch (they may be fractions of the size); checked here, once.
  bounds('widthShiftRange', options.widthShiftRange);
  bounds('heightShiftRange', options.heightShiftRange);
  const alpha = option('elasticAlpha', options.elasticAlpha ?? 0, 0, 1000);
  const sigma = option('elasticSigma', options.elasticSigma ?? 4, 0, 100, true);
  const kernel = gaussianKernel(sigma);
  const nearest = (options.fillMode ?? 'nearest') === 'nearest';
  check(nearest || options.fillMode === 'constant', `fillMode must be 'nearest' or 'constant', got ${JSON.stringify(options.fillMode)}`);
  const cval = option('cval', options.cval ?? 0, -1e30, 1e30);
  // The blur matrices for the current image size, made on first use (they outlive any step's scope).
  let blur: { h: number; w: number; gh: Tensor; gw: Tensor } | null = null;
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();

  return (x: Tensor): Tensor => {
    check(x.rank === 4 && x.dtype === 'float32', () => `augmentation needs a float32 (batch, height, width, channels) batch, got ${x.dtype} ${formatShape(x.shape)}`);
    const [n, h, w, c] = x.shape;
    const [txLo, txHi] = shiftBounds('widthShiftRange', options.widthShiftRange, w);
    const [tyLo, tyHi] = shiftBounds('heightShiftRange', options.heightShiftRange, h);
    if (alpha > 0 && (blur?.h !== h || blur.w !== w)) blur = { h, w, gh: gaussianMatrix(kernel, h, alpha), gw: gaussianMatrix(kernel, w, 1) };
    // Each image takes six draws in turn (angle, zooms, shifts, noise seed), so an image's
    // transform depends on how many images came before it, not on how they were batched.
    const draws = new Float64Array(6 * n);
    for (let i = 0; i < n; i++) {
      draws.set([uniform(rotLo, rotHi), uniform(zoomLo, zoomHi), uniform(zoomLo, zoomHi), uniform(txLo, txHi), uniform(tyLo, tyHi),
        rng.nextUint32()], 6 * i);
    }
    return tidy(() => {
      const field = blur ? displacementFields(draws, n, h, w, blur.gh, blur.gw).raw as Float32Array : null;
      const out = allocate(x.shape);
      const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
      for (let i = 0; i < n; i++) {
        const [degrees, zx, zy, tx, ty] = draws.subarray(6 * i, 6 * i + 5);
        // Output pixel (column q, row r) samples the input at (u, v) = A ((q, r) - centre - t) + centre,
        // with A = R Z: zoom, then rotation (R turns the content counter-clockwise on screen); the
        // shift t moves the result on the output.
        const [cos, sin] = [Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)];
        const affine = [cos * zx, -sin * zy, sin * zx, cos * zy]; // (du/dq, du/dr, dv/dq, dv/dr)
        const offU = cx - affine[0] * (cx + tx) - affine[1] * (cy + ty);
        const offV = cy - affine[2] * (cx + tx) - affine[3] * (cy + ty);
        sample(x.raw as Float32Array, out.raw as Float32Array, i * h * w * c, h, w, c, affine[0], affine[1], affine[2], affine[3],
          offU, offV, field, 2 * i * h * w, nearest, cval);
      }
      return out;
    });
  };
}

/**
 * Simard's displacement fields for n images, (2n, h, w): for each image du then dv, uniform noise
 * in [-1, 1] blurred by the separable Gaussian with zeros beyond the edges, times alpha. The blur
 * is two matmuls with banded Gaussian matrices, alpha·Gh · noise · Gw (each symmetric), so it runs
 * on the backend's fast matmul instead of a per-pixel loop here.
 */
function displacementFields(draws: Float64Array, n: number, h: number, w: number, gh: Tensor, gw: Tensor): Tensor {
  const noise = allocate([2 * n, h, w]);
  const data = noise.raw as Float32Array;
  const per = 2 * h * w;
  for (let i = 0; i < n; i++) {
    // A xorshift32 stream from the image's seed, two 16-bit uniforms per step: plenty for noise
    // about to be averaged, and far cheaper than an Rng call per value.
    let state = draws[6 * i + 5] | 1;
    for (let j = i * per; j < (i + 1) * per; j += 2) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      data[j] = (state & 0xffff) / 32767.5 - 1;
      data[j + 1] = (state >>> 16) / 32767.5 - 1;
    }
  }
  return matmul(gh, matmul(noise, gw)); // (h, h) @ ((2n, h, w) @ (w, w))
}

/** scale * the (size, size) matrix of the Gaussian `kernel` centred on the diagonal: blurring with zeros beyond the ends. */
function gaussianMatrix(kernel: Float32Array, size: number, scale: number): Tensor {
  const radius = (kernel.length - 1) >> 1;
  const m = new Float32Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = Math.max(0, i - radius); j <= Math.min(size - 1, i + radius); j++) m[i * size + j] = scale * kernel[j - i + radius];
  }
  return persistent(() => tensor(m, [size, size]));
}

/** Bilinear resampling of one image at its affine (plus displacement) coordinates. */
function sample(src: Float32Array, dst: Float32Array, base: number, h: number, w: number, c: number,
  dudq: number, dudr: number, dvdq: number, dvdr: number, offU: number, offV: number,
  field: Float32Array | null, fieldOff: number, nearest: boolean, cval: number): void {
  const hw = h * w;
  const rowStride = w * c;
  for (let r = 0; r < h; r++) {
    let u = dudr * r + offU, v = dvdr * r + offV; // input column and row for q = 0
    for (let q = 0; q < w; q++, u += dudq, v += dvdq) {
      let su = u, sv = v;
      if (field) {
        su += field[fieldOff + r * w + q];
        sv += field[fieldOff + hw + r * w + q];
      }
      if (nearest) {
        su = su < 0 ? 0 : su > w - 1 ? w - 1 : su;
        sv = sv < 0 ? 0 : sv > h - 1 ? h - 1 : sv;
      }
      const q0 = Math.floor(su), r0 = Math.floor(sv);
      const fu = su - q0, fv = sv - r0;
      const o = base + (r * w + q) * c;
      const p = base + r0 * rowStride + q0 * c;
      if (q0 >= 0 && r0 >= 0 && q0 < w - 1 && r0 < h - 1) {
        for (let ch = 0; ch < c; ch++) {
          const top = src[p + ch] + fu * (src[p + c + ch] - src[p + ch]);
          const bottom = src[p + rowStride + ch] + fu * (src[p + rowStride + c + ch] - src[p + rowStride + ch]);
          dst[o + ch] = top + fv * (bottom - top);
        }
        continue;
      }
      // At or beyond an edge: each of the four neighbours is a pixel or the fill value.
      const inQ0 = q0 >= 0 && q0 < w, inQ1 = q0 + 1 >= 0 && q0 + 1 < w;
      const inR0 = r0 >= 0 && r0 < h, inR1 = r0 + 1 >= 0 && r0 + 1 < h;
      for (let ch = 0; ch < c; ch++) {
        const v00 = inR0 && inQ0 ? src[p + ch] : cval;
        const v01 = inR0 && inQ1 ? src[p + c + ch] : cval;
        const v10 = inR1 && inQ0 ? src[p + rowStride + ch] : cval;
        const v11 = inR1 && inQ1 ? src[p + rowStride + c + ch] : cval;
        const top = v00 + fu * (v01 - v00);
        const bottom = v10 + fu * (v11 - v10);
        dst[o + ch] = top + fv * (bottom - top);
      }
    }
  }
}
