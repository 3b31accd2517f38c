// Spec §1 and §2 steps 1–2: the image-derived inputs of SAM, CLIP and GEM.
import { normalizeImage, resizeImage } from '../../bindings/imagePrep.ts';
import { samResizeShape } from '../../bindings/samPost.ts';

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
export const SAM_PIXEL_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: [number, number, number] = [58.395, 57.12, 57.375];
export const SAM_IMAGE_SIZE = 1024;
export const GEM_IMAGE_SIZE = 448;

export interface RgbImage {
  /** HWC RGB uint8. */
  rgb: Uint8Array;
  height: number;
  width: number;
}

export interface SamInput {
  /** [1, 3, 1024, 1024] float32: Pillow-bilinear resize, pixel mean/std, zero padded bottom/right. */
  pixels: Float32Array;
  /** The resized frame inside the padded square. */
  resizedHeight: number;
  resizedWidth: number;
}

export function prepareSamInput({ rgb, height, width }: RgbImage): SamInput {
  const [rh, rw] = samResizeShape(height, width);
  const resized = resizeImage(rgb, height, width, rh, rw, { filter: 'bilinear' });
  const pixels = normalizeImage(resized, rh, rw, {
    scale: 1, mean: SAM_PIXEL_MEAN, std: SAM_PIXEL_STD, padHeight: SAM_IMAGE_SIZE, padWidth: SAM_IMAGE_SIZE,
  });
  return { pixels, resizedHeight: rh, resizedWidth: rw };
}

/** GEM's `tensor_img`: Pillow bicubic to 448×448 (aspect not kept), ToTensor, CLIP mean/std → [1, 3, 448, 448]. */
export function prepareGemInput({ rgb, height, width }: RgbImage): Float32Array {
  const resized = resizeImage(rgb, height, width, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE, { filter: 'bicubic' });
  return normalizeImage(resized, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE, { scale: 255, mean: CLIP_MEAN, std: CLIP_STD });
}

/** The reference's `image`: ToTensor then ImageNet mean/std (QUIRK imagenet-norm), CHW at full size. */
export function prepareImageNetImage({ rgb, height, width }: RgbImage): Float32Array {
  return normalizeImage(rgb, height, width, { scale: 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
}
