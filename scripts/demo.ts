// `npm run demo`: the whole pipeline on the tiny random-weight fixture models and a bundled photo. It shows that
// everything runs end to end; tiny random models give meaningless masks (docs/getting-started.md: hybridgl models fetch).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createSegmenter } from '../src/index.ts';
import { renderContactSheet, renderOverlay } from '../src/render/overlay.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const models = process.env.HYBRIDGL_MODELS ?? join(root, 'test', 'fixtures', 'e2e', 'models');
const image = process.argv[2] ?? join(root, 'assets', 'demo.jpg');
const expressions = process.argv.length > 3 ? process.argv.slice(3) : ['the dog on the left', 'the grass below the dog'];
const out = join(root, 'demo-out');
const vocabCandidates = [process.env.HYBRIDGL_VOCAB, join(models, 'bpe_simple_vocab_16e6.txt.gz'),
  join(root, 'models', 'vocab', 'bpe_simple_vocab_16e6.txt.gz')].filter((p): p is string => !!p);
const vocabPath = vocabCandidates.find((p) => existsSync(p));
if (!vocabPath) {
  console.error('demo: CLIP\'s BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) was not found. Set HYBRIDGL_VOCAB to its path ' +
    '(the package ships it in models/vocab/, and hybridgl models fetch writes it beside the models).');
  process.exit(1);
}

console.error(`demo: models ${models}\ndemo: NOTE these are tiny models with RANDOM weights: the pipeline runs end to end, ` +
  'but the masks it picks mean nothing. For real results fetch the official models with ' +
  '`hybridgl models fetch --out <dir>` (in a clone: node bin/hybridgl.js models fetch …) and set HYBRIDGL_MODELS=<dir>.');
const segmenter = await createSegmenter({ models, vocabPath });
try {
  const result = await segmenter.segment(image, expressions);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'result.json'), JSON.stringify(result.results, null, 2) + '\n');
  for (const [i, r] of result.results.entries()) {
    const png = await renderOverlay(result.imageData, segmenter.decodeMask(r.mask), { bbox: r.bbox, caption: r.expression });
    writeFileSync(join(out, `overlay-${i}.png`), png);
    const sheet = await renderContactSheet(result.imageData, r.candidates.map((c) => ({
      mask: segmenter.decodeMask(c.mask), bbox: c.bbox, label: `#${c.proposal} clip ${c.clip.toFixed(2)}`,
    })));
    writeFileSync(join(out, `candidates-${i}.png`), sheet);
    console.error(`demo: "${r.expression}" → proposal ${r.proposal} of ${result.proposals}, bbox ${r.bbox.join(',')}`);
  }
  console.error(`demo: image stages ${Object.entries(result.timings).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);
  console.error(`demo: wrote ${out}/result.json, overlay-*.png and candidates-*.png`);
} finally {
  await segmenter.dispose();
}
