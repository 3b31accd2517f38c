// Spec §10: what PhraseCut's loop composites into each local CLIP input (QUIRK phrasecut-local-resize).
import { resizeMapAsync } from '../../bindings/heatmap.ts';
import { normalizeImage, resizeImageAsync } from '../../bindings/imagePrep.ts';
import { ImageBudgetError } from './imageBudget.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type RgbImage } from './preprocess.ts';

/** The shorter side data/dataset_phrasecut.py resizes its `image` to. */
export const PHRASECUT_SHORT_SIDE = 800;

/** torchvision's `Resize(size)` output for an int size: the shorter side becomes `size`, the longer one
 *  `int(size · long / short)` (truncated, in double as Python computes it). */
export function shorterSideShape(height: number, width: number, size: number): [number, number] {
  const long = Math.trunc((size * Math.max(height, width)) / Math.min(height, width));
  return width <= height ? [long, size] : [size, long];
}

/**
 * The loop's `original_imgs` as 3×H×W float32 (CHW): the photo resized (Pillow bilinear) to a shorter side of 800,
 * ToTensor and ImageNet Normalize, then resized back to H×W by `T.Resize((h, w))` on the tensor (bilinear, no
 * antialias). The published loop multiplies an undefined `original_img`; this is the tensor it builds for it.
 * A thin photo grows large at 800 (1×2048 → 800×1,638,400): over maxPixels there, it is an ImageBudgetError.
 */
export async function phraseCutLocalSource({ rgb, height, width }: RgbImage,
  maxPixels = Infinity): Promise<Float32Array> {
  const [h800, w800] = shorterSideShape(height, width, PHRASECUT_SHORT_SIDE);
  if (h800 * w800 > maxPixels) {
    const what = `the image resized to a shorter side of ${PHRASECUT_SHORT_SIDE} (PhraseCut's local CLIP input)`;
    throw new ImageBudgetError(what, h800, w800, maxPixels);
  }
  const resized = await resizeImageAsync(rgb, height, width, h800, w800, { filter: 'bilinear' });
  const normalised = normalizeImage(resized, h800, w800, { scale: 255, mean: IMAGENET_MEAN, std: IMAGENET_STD });
  return resizeMapAsync(normalised, h800, w800, height, width, { channels: 3 });
}
