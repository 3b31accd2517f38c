// Image preparation: Pillow-exact resizing of uint8 images and normalisation to (padded) CHW float32.
import { native } from './native.ts';
import { checkElements, checkInt, checkOptions, checkUint8, describe } from './validate.ts';

export type ResizeFilter = 'bilinear' | 'bicubic';

export interface ImageResizeOptions {
  /** Pillow's filter; both widen their support when shrinking (antialiased), as Image.resize does. */
  filter?: ResizeFilter;
  /** Interleaved channels per pixel (1–4); 3 for RGB. */
  channels?: number;
}

function resizeArgs(image: Uint8Array, height: number, width: number, outHeight: number, outWidth: number,
  options: ImageResizeOptions) {
  const channels = checkInt(checkOptions(options).channels ?? 3, 'channels', 1, 4);
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkInt(outHeight, 'outHeight', 1);
  checkInt(outWidth, 'outWidth', 1);
  checkUint8(image, 'image', checkElements('height×width×channels', [height, width, channels]));
  checkElements('outHeight×outWidth×channels', [outHeight, outWidth, channels]);
  const filter = options.filter ?? 'bilinear';
  if (filter !== 'bilinear' && filter !== 'bicubic') {
    throw new RangeError(`filter must be 'bilinear' or 'bicubic', got ${String(filter)}`);
  }
  return [image, height, width, channels, outHeight, outWidth, filter] as const;
}

/** Resizes an HWC uint8 image exactly as Pillow's `Image.resize((outWidth, outHeight), filter)`. */
export function resizeImage(image: Uint8Array, height: number, width: number, outHeight: number, outWidth: number,
  options: ImageResizeOptions = {}): Uint8Array {
  return native.resizeImage(...resizeArgs(image, height, width, outHeight, outWidth, options), false);
}

/** resizeImage off the JS thread. */
export function resizeImageAsync(image: Uint8Array, height: number, width: number, outHeight: number,
  outWidth: number, options: ImageResizeOptions = {}): Promise<Uint8Array> {
  return native.resizeImage(...resizeArgs(image, height, width, outHeight, outWidth, options), true);
}

export interface NormalizeOptions {
  /** Divide the uint8 values by this first (255 as ToTensor does; 1 for SAM's pixel-valued mean/std). */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Zero-pad at the bottom/right to this size (after normalising); defaults to the image size. */
  padHeight?: number;
  padWidth?: number;
}

function threeNumbers(value: unknown, name: string): Float32Array {
  const ok = (Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array) &&
    value.length === 3 && Array.from(value as ArrayLike<unknown>).every((v) => typeof v === 'number');
  if (!ok) throw new TypeError(`${name} must be 3 numbers, got ${describe(value)}`);
  return Float32Array.from(value as ArrayLike<number>); // the addon refuses NaN and ±Infinity, naming name[i]
}

/** HWC RGB uint8 → CHW float32 `(v/scale − mean[c]) / std[c]` in float32 arithmetic, zero padded. */
export function normalizeImage(rgb: Uint8Array, height: number, width: number, o: NormalizeOptions): Float32Array {
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkUint8(rgb, 'rgb', height * width * 3);
  checkOptions(o);
  if (typeof o.scale !== 'number' || !(o.scale > 0) || !Number.isFinite(o.scale)) {
    throw new RangeError(`scale must be a finite positive number, got ${String(o.scale)}`);
  }
  const mean = threeNumbers(o.mean, 'mean');
  const std = threeNumbers(o.std, 'std');
  const padHeight = checkInt(o.padHeight ?? height, 'padHeight', height);
  const padWidth = checkInt(o.padWidth ?? width, 'padWidth', width);
  checkElements('3×padHeight×padWidth', [3, padHeight, padWidth], 4);
  return native.normalizeImage(rgb, height, width, o.scale, mean, std, padHeight, padWidth);
}
