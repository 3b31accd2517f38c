// A TypeScript consumer: type-checked (strict, module nodenext, skipLibCheck off) against the installed package's
// declarations only. Not run: the .mjs and .cjs apps run the same API.
import { createSegmenter, rleDecode, SegmentError, type Rle, type SegmentResult, type Segmenter } from 'hybridgl';

/** The mask of the first expression (row-major H×W), or null when no proposal survived for the image. */
export async function firstMask(models: string, image: string | Buffer, expression: string): Promise<Uint8Array | null> {
  const segmenter: Segmenter = await createSegmenter({ models, fusion: 'G2L', guidance: true, topK: 5 });
  try {
    const result: SegmentResult = await segmenter.segment(image, [expression]);
    const first = result.results[0];
    const rle: Rle = first.mask;
    const [x, y, w, h]: [number, number, number, number] = first.bbox;
    console.log(first.expression, first.score.toFixed(3), x, y, w, h, result.timings);
    return rleDecode(rle);
  } catch (err) {
    if (err instanceof SegmentError && err.kind === 'noProposal') return null;
    throw err;
  } finally {
    await segmenter.dispose();
  }
}

const mask = await firstMask('/models', 'photo.jpg', 'the dog on the left');
console.log(mask?.length);
