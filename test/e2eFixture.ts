// The end-to-end reference fixture (test/fixtures/e2e, made by scripts/fixtures/make_e2e_reference.py): its JSON,
// its binary arrays, and a relative-error measure for comparing with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import type { FloatTensor } from '../src/models/loadModels.ts';
import type { Relation } from '../src/pipeline/relationGuidance.ts';
import { SHARED_DIR } from './sharedData.ts';

// HYBRIDGL_E2E_DIR points the tests at another run of the script (e.g. a full-size one outside the repo).
export const DIR = process.env.HYBRIDGL_E2E_DIR ?? join(import.meta.dirname, 'fixtures', 'e2e');
// The photo the fixture was made from (not committed); the test that decodes it is skipped where it is absent.
export const IMAGE = process.env.HYBRIDGL_E2E_IMAGE ?? join(SHARED_DIR, 'data', 'images', 'dog.jpg');

export interface BinEntry { dtype: 'float32' | 'uint8'; offset: number; shape: number[] }
export interface Expression {
  sentence: string; noun_phrase: string; other_noun_phrases: string[]; nouns: string[];
  dirflag: string; relaflag: Relation;
  tokens: { sentence: number[]; noun_phrase: number[]; other_nouns: number[][]; gem_prompt: number[] };
  sentence_features: number[]; noun_phrase_features: number[]; text_ensemble: number[];
  other_noun_features_each: number[][]; other_noun_features: number[]; gem_text_features: number[];
  score_clip: number[]; score_clip_neg: number[]; softmax_clip: number[]; softmax_clip_neg: number[];
  k1: number; k2: number; maxidxs: number[]; max_neg_idxs: number[];
  topscores_raw: number[]; topscores_softmax: number[]; score_gem: number[]; topscores_final: number[];
  max_index_hybrid: number; max_index_final: number; heat448?: BinEntry;
}
export interface Reference {
  image: { height: number; width: number; rgb_sha256: string; gem_resized_uint8: BinEntry };
  sam: { resized: [number, number]; points: number[][]; iou_predictions: number[][] };
  proposals: Array<{ bbox: [number, number, number, number]; area: number;
    rle: { size: [number, number]; counts: number[] } }>;
  clip_inputs: { count: number; global: BinEntry; local: BinEntry };
  mask_grid: BinEntry;
  hybrid_features: Record<string, BinEntry>;
  gem_patch_features: BinEntry;
  expressions: Expression[];
  /** Every fusion mode (make_e2e_reference.py --fusions): its features and, per expression, its scores and choices. */
  fusions?: Record<string, { features: BinEntry; expressions: FusionChoice[] }>;
}
export type FusionChoice = Pick<Expression, 'score_clip' | 'score_clip_neg' | 'softmax_clip' | 'softmax_clip_neg' | 'k1' |
  'k2' | 'maxidxs' | 'max_neg_idxs' | 'topscores_raw' | 'topscores_softmax' | 'topscores_final' | 'max_index_hybrid' |
  'max_index_final'>;

export const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8'),
  // The script writes NaN (the reference's 0/0 and its cosine against a zero vector) as null.
  (_key, value) => (value === null ? NaN : value)) as Reference;
export const bin = new Uint8Array(readFileSync(join(DIR, 'reference.bin')));

export function tensor(e: BinEntry): FloatTensor {
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (e.dtype !== 'float32') throw new Error('not float32');
  return { data: new Float32Array(bin.buffer.slice(bin.byteOffset + e.offset, bin.byteOffset + e.offset + 4 * n)), dims: e.shape };
}

/** max |a − b| / max |b|, where NaN must meet NaN (Infinity otherwise) and an all-zero reference must be met
 *  exactly. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]) || Number.isNaN(want[i])) {
      if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) return Infinity;
      continue;
    }
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}

