// Spec §2, outside CI: where a full-size run's proposal masks differ from the reference (scripts/full_size_e2e.sh),
// our decoder's logits at each differing pixel: the up-scaled logit (the mask is logit > 0) and the 4×4 low-res
// logits around it. Writes JSON for scripts/fixtures/dump_reference_mask_logits.py, which adds the reference's.
//   npx tsx scripts/full_size_mask_logits.ts /work/fullsize-h11/e2e/dog.jpg /work/shared/data/images/dog.jpg > ours.json
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { samPointGrid, samResizeShape, samTransformCoords, samUpscaleLogits } from '../bindings/samPost.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { prepareSamInput, SAM_IMAGE_SIZE } from '../src/pipeline/preprocess.ts';
import { generateProposals } from '../src/pipeline/proposals.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';

const LOW = 256, PER_SIDE = 8;
const [dir, imagePath] = process.argv.slice(2);
if (!dir || !imagePath) throw new Error('usage: full_size_mask_logits.ts REFERENCE_DIR IMAGE');
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
const models = await loadModels(join(dir, 'models'), { device: 'cpu', precision: 'fp32', vocabPath: process.env.HYBRIDGL_VOCAB ?? CLIP_VOCAB_PATH });
const image = await loadImage(imagePath);
const { height: h, width: w } = image;
const proposals = await generateProposals(image, models);
// the decoder once more on the same grid, for its raw low-res logits (generateProposals does not keep them)
const sam = await prepareSamInput(image);
const embeddings = await models.samEncoder({ data: sam.pixels, dims: [1, 3, SAM_IMAGE_SIZE, SAM_IMAGE_SIZE] });
const points = PER_SIDE * PER_SIDE;
const grid = samPointGrid(h, w, PER_SIDE);
const decoded = await models.samDecoder(embeddings,
  { data: Float32Array.from(samTransformCoords(grid, h, w, SAM_IMAGE_SIZE)), dims: [points, 1, 2] },
  { data: new Float32Array(points).fill(1), dims: [points, 1] });
const low = decoded.lowResLogits.data;
const [nh, nw] = samResizeShape(h, w, SAM_IMAGE_SIZE);
const pixels: unknown[] = [];
const n = Math.min(proposals.count, ref.proposals.length);
for (let i = 0; i < n; i++) {
  const want = rleDecode(rleFromCounts(ref.proposals[i].rle.counts, h, w));
  const got = proposals.masks.subarray(i * h * w, (i + 1) * h * w);
  const index = proposals.proposalIndex[i];
  let up: Float32Array | undefined;
  for (let q = 0; q < want.length; q++) {
    if (want[q] === got[q]) continue;
    const map = low.subarray(index * LOW * LOW, (index + 1) * LOW * LOW);
    up ??= samUpscaleLogits(map, h, w, LOW, SAM_IMAGE_SIZE);
    const y = Math.floor(q / w), x = q % w;
    // the low-res cell under the pixel (through the resized frame and the 4× up-scaling), with its 4×4 neighbourhood
    const cy = Math.floor(((y + 0.5) * nh / h) / 4), cx = Math.floor(((x + 0.5) * nw / w) / 4);
    const y0 = Math.max(0, Math.min(LOW - 4, cy - 1)), x0 = Math.max(0, Math.min(LOW - 4, cx - 1));
    const patch: number[] = [];
    for (let yy = y0; yy < y0 + 4; yy++) for (let xx = x0; xx < x0 + 4; xx++) patch.push(map[yy * LOW + xx]);
    pixels.push({ proposal: i, y, x, point: Math.floor(index / 3), mask: index % 3, ours: got[q], reference: want[q],
      oursLogit: up[q], lowResOrigin: [y0, x0], oursLowRes: patch });
  }
}
await models.dispose();
console.log(JSON.stringify({ image: ref.image.name, height: h, width: w, pixels }, null, 1));
