// A REFER-layout split (refcoco, splitBy unc, testA) over real photos, for measuring `hybridgl eval` at full size:
// one ref per photo (a centred box as its GT, the IoUs mean nothing), its sentences from an expressions file.
// usage: npx tsx bench/perf/photo_refer.ts OUT_DIR EXPRESSIONS_JSON PHOTO…
//   EXPRESSIONS_JSON: {"<photo file name>": [{"sentence": "…"}, …]} (scripts/fixtures/full_size_expressions.json)
// then: hybridgl eval --data OUT_DIR --dataset refcoco --split testA --models DIR --out RUNDIR
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import sharp from 'sharp';

import { writePickle, type PickleWritable } from '../../src/data/pickle.ts';

const [out, expressionsFile, ...photos] = process.argv.slice(2);
if (!out || !expressionsFile || photos.length === 0) throw new Error('usage: photo_refer.ts OUT_DIR EXPRESSIONS_JSON PHOTO…');
const expressions = JSON.parse(readFileSync(expressionsFile, 'utf8')) as Record<string, Array<{ sentence: string }>>;
const imageDir = join(out, 'images', 'mscoco', 'images', 'train2014');
mkdirSync(join(out, 'refcoco'), { recursive: true });
mkdirSync(imageDir, { recursive: true });
const images: PickleWritable[] = [], annotations: PickleWritable[] = [], refs: PickleWritable[] = [];
let sentId = 0;
for (const [i, photo] of photos.entries()) {
  const says = expressions[basename(photo)];
  if (!says?.length) throw new Error(`${expressionsFile} has no sentences for ${basename(photo)}`);
  const { width, height } = await sharp(photo).metadata();
  const id = 1000 + i;
  const fileName = `COCO_train2014_${String(id).padStart(12, '0')}.jpg`;
  symlinkSync(resolve(photo), join(imageDir, fileName));
  images.push({ id, file_name: fileName, height: height!, width: width! });
  const [x0, y0, x1, y1] = [width! / 4, height! / 4, (3 * width!) / 4, (3 * height!) / 4];
  annotations.push({ id: 100 + i, image_id: id, category_id: 1, iscrowd: 0, segmentation: [[x0, y0, x1, y0, x1, y1, x0, y1]],
    area: (x1 - x0) * (y1 - y0), bbox: [x0, y0, x1 - x0, y1 - y0] });
  const sentences = says.map(({ sentence }) => ({ tokens: sentence.split(' '), raw: sentence, sent_id: sentId++, sent: sentence }));
  refs.push({ sent_ids: sentences.map((s) => s.sent_id), file_name: fileName.replace('.jpg', `_${100 + i}.jpg`), ann_id: 100 + i,
    ref_id: i, image_id: id, split: 'testA', sentences, category_id: 1 });
}
writeFileSync(join(out, 'refcoco', 'instances.json'),
  JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'thing', supercategory: 'thing' }] }));
writeFileSync(join(out, 'refcoco', 'refs(unc).p'), writePickle(refs));
console.log(`wrote ${out}: ${photos.length} images, ${sentId} sentences (split testA)`);
