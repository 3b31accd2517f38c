// The options of createSegmenter (SegmenterOptions) and of each call (SegmentOptions), apart from the segmenter so
// that their check (segmenterOptionsCheck.ts) and the segmenter both import them.
import type { Fusion, LoadModelsOptions, Models, Precision } from './models/loadModels.ts';
import type { DecodeOptions } from './pipeline/image.ts';
import type { ProposalOptions } from './pipeline/proposals.ts';

/** What the local CLIP image shows inside each mask (SegmenterOptions.localImage). */
export type LocalImage = 'photo' | 'resized-800';

export interface SegmenterOptions {
  /** A directory written by `hybridgl models fetch|convert` (or models/export.py), or models loaded with loadModels. */
  models: string | Models;
  device?: 'auto' | 'cpu' | 'cuda';
  /** 'fp32' (default): as the reference, whose models all run in fp32 (spec §4); 'fp16' (CUDA) and 'int8' (CPUs
   *  with AVX-512 VNNI or AMX; the CLIP trunk and heads, the other models in fp32): opt-ins for speed. */
  precision?: Precision;
  /** The CLIP vocabulary when the model directory has none (else $HYBRIDGL_VOCAB). */
  vocabPath?: string;
  /** Hybrid fusion of the global and local streams (the reference's default: G2L). */
  fusion?: Fusion;
  /** Re-rank with spatial guidance (§7); false gives the pure-HybridGL choice. */
  guidance?: boolean;
  /** Candidates reported per expression (best CLIP scores first). Default 5. */
  topK?: number;
  /**
   * The reference's quirks, each on by default (spec §4, §6, §7): `rightNever` (the relation 'right' never fires),
   * `aliasedPool` (masks reach the 14×14 patch grid as bilinear point samples; false: exact area fractions),
   * `nanCoherence` (a full-image or empty proposal scores NaN coherence, which torch.argmax then picks when it is in
   * the top-k1; false: its empty side counts as mean 0).
   */
  quirks?: { rightNever?: boolean; aliasedPool?: boolean; nanCoherence?: boolean };
  /** SAM automatic mask generation settings; the defaults are the reference's. */
  proposals?: ProposalOptions;
  /**
   * What the local CLIP image shows inside each mask (spec §3, §10): 'photo' (default, the RefCOCO loop's), or
   * 'resized-800', PhraseCut's loop (QUIRK phrasecut-local-resize): the photo resized to a shorter side of 800
   * (Pillow bilinear), normalised, and resized back (bilinear, no antialias). The PhraseCut eval sets it.
   */
  localImage?: LocalImage;
  /** Image decoding; the defaults are PIL's (QUIRK pil-decode: ICC and EXIF orientation ignored). */
  decode?: DecodeOptions;
  /** Weight of coherence against the relation term in the final score (the reference's alpha). */
  alpha?: number;
  /** The largest image accepted, in pixels (height × width), checked from the header before decoding. The default
   *  keeps one image within about 4 GB (docs/limits.md); Infinity: no limit. */
  maxPixels?: number;
  /** How the sessions are created when `models` is a directory (only the models this fusion and guidance use are
   *  loaded). A one-shot run wants `{ lazy: true, warmup: false }`; `allocator` as LoadModelsOptions.allocator. */
  load?: Pick<LoadModelsOptions, 'lazy' | 'warmup' | 'memoryArena' | 'profile' | 'allocator'>;
  /** Text features kept across calls, by string (default 10 000); 0: every call encodes its strings afresh. */
  textCacheLimit?: number;
}

export interface SegmentOptions {
  /** Override k1/k2 (the eval loop's QUIRK sticky-k lowers them across a run). */
  k?: { k1: number; k2: number };
  /** Also choose with each of these (k1, k2): ExpressionResult.guidedByK, keyed "k1,k2" (cheap: only the relation
   *  term and the final argmax are redone). */
  kVariants?: Array<{ k1: number; k2: number }>;
}
