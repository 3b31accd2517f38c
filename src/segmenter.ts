// The whole method (spec §0–§8): one image and one or many expressions in, the referred mask out. Image-level
// work (proposals, hybrid features, GEM features) runs once per image and serves every expression.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { rleDecode, rleEncode, type Rle } from '../bindings/rle.ts';
import { HEAD_MODELS, loadModels, type Fusion, type ModelName, type Models } from './models/loadModels.ts';
import { scoreExpression, type ProposalScores, type ScoringSettings } from './pipeline/expressionScores.ts';
import { computeHybridFeatures } from './pipeline/hybridFeatures.ts';
import { checkDecodeOptions, loadImage, type ImageInput } from './pipeline/image.ts';
import { checkImageBudget, checkMaxPixels, DEFAULT_MAX_PIXELS, ImageBudgetError } from './pipeline/imageBudget.ts';
import { phraseCutLocalSource } from './pipeline/phraseCutLocal.ts';
import { prepareGemInput, GEM_IMAGE_SIZE, SAM_IMAGE_SIZE, type RgbImage } from './pipeline/preprocess.ts';
import { generateProposals, type Proposals } from './pipeline/proposals.ts';
import type { AmgProgress } from './pipeline/samCrops.ts';
import { timed } from './pipeline/timing.ts';
import type { LocalImage, SegmenterOptions, SegmentOptions } from './segmenterOptions.ts';
import { checkSegmenterOptions, checkSegmentOptions } from './segmenterOptionsCheck.ts';
import { createClipTokenizer, type ClipTokenizer } from './text/clipTokenizer.ts';
import { parseExpression, type ParsedExpression, type ParseOptions } from './text/parseExpression.ts';
import { isBlank } from './text/printable.ts';
import { createTextFeaturizer, type ExpressionTextFeatures, type TextFeaturizer } from './text/textFeatures.ts';

export type { LocalImage, SegmenterOptions, SegmentOptions } from './segmenterOptions.ts';

/** The longest expression accepted, in UTF-16 code units (CLIP reads 77 tokens of it; the parse reads all of it, in
 *  time linear in its length). */
export const MAX_EXPRESSION_CHARS = 4096;
/** Expressions per call, at most. */
export const MAX_EXPRESSIONS = 256;

/** Why a segmentation could not be made; `kind` maps to the CLI's exit codes. */
export class SegmentError extends Error {
  constructor(readonly kind: 'badInput' | 'models' | 'noProposal', message: string) {
    super(message);
    this.name = 'SegmentError';
  }
}

/** An expression, optionally with a parse that replaces the parser's (e.g. to compare with another parser). */
export type ExpressionInput = string | { text: string; parse?: ParsedExpression };

export interface Candidate {
  proposal: number;
  mask: Rle;
  bbox: [number, number, number, number];
  /** logitScale · cos(visual, text). */
  clip: number;
  /** Relation term t (softmaxed over the top-k1), when guidance ran and the proposal is in the top-k1. */
  relation?: number;
  /** Coherence score c, when guidance ran. */
  coherence?: number;
  /** 0.4·t + 0.6·c, when guidance ran and the proposal is in the top-k1. */
  final?: number;
}

export interface ExpressionResult {
  expression: string;
  mask: Rle;
  bbox: [number, number, number, number];
  /** The chosen proposal's final score (guided) or CLIP score (pure). */
  score: number;
  /** Index of the chosen proposal. */
  proposal: number;
  /** The pure-HybridGL choice (argmax of the CLIP score). */
  hybrid: { proposal: number; score: number };
  parse: Omit<ParsedExpression, 'parse'>;
  candidates: Candidate[];
  /** The guided choice for each requested k variant, keyed "k1,k2". */
  guidedByK?: Record<string, { proposal: number; score: number }>;
  timings: Record<string, number>;
}

export interface SegmentResult {
  /** The decoded image (for rendering); not serialised by the CLI. */
  imageData: RgbImage;
  height: number;
  width: number;
  proposals: number;
  results: ExpressionResult[];
  /** Image-level stage times in milliseconds. */
  timings: Record<string, number>;
}

/** Image-level work, reusable across calls for the same image. */
export interface PreparedImage {
  image: RgbImage;
  proposals: Proposals;
  features: Float32Array;
  dim: number;
  gemPatches: Float32Array;
  timings: Record<string, number>;
  /** Each proposal's mask as COCO RLE, encoded on first use and shared by every expression of the image. */
  proposalRle(index: number): Rle;
}

export interface PrepareOptions {
  /** Called after each batch of SAM points when the full generator runs (`proposals.amg`, e.g. PhraseCut's). */
  onSamProgress?: (progress: AmgProgress) => void;
}

export interface Segmenter {
  readonly models: Models;
  readonly localImage: LocalImage;
  segment(image: ImageInput, expressions: ExpressionInput[], options?: SegmentOptions): Promise<SegmentResult>;
  prepare(image: ImageInput, options?: PrepareOptions): Promise<PreparedImage>;
  segmentPrepared(prepared: PreparedImage, expressions: ExpressionInput[], options?: SegmentOptions): Promise<ExpressionResult[]>;
  decodeMask(rle: Rle): Uint8Array;
  dispose(): Promise<void>;
}


function findVocab(models: Models, override?: string): string {
  const path = override ?? models.vocabPath ?? process.env.HYBRIDGL_VOCAB;
  if (!path || !existsSync(path)) {
    throw new SegmentError('models', `the CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) was not found${path ? ` at ${path}` : ''}: ` +
      'fetch the models again (hybridgl models fetch writes it beside them), pass vocabPath (--vocab) or set HYBRIDGL_VOCAB');
  }
  return path;
}

function bboxOf(p: Proposals, i: number): [number, number, number, number] {
  const b = p.boxesXYWH;
  return [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** The models a segmenter with this fusion calls: SAM, the CLIP trunk, the fusion's head, the text model, GEM
 *  when guidance is on (the fusion is one that checkSegmenterOptions accepts). */
export function neededModels(fusion: Fusion, guidance: boolean): ModelName[] {
  return ['sam_encoder', 'sam_decoder', 'clip_trunk', HEAD_MODELS[fusion], 'clip_text', ...(guidance ? ['gem_visual' as const] : [])];
}

/** An image SAM cannot frame: its longest side resized to 1024 must leave the other at least one pixel (at most
 *  2048:1), and one pixel alone has nothing to segment. */
function checkImageShape({ height, width }: RgbImage): void {
  const short = Math.floor((Math.min(height, width) * SAM_IMAGE_SIZE) / Math.max(height, width) + 0.5);
  if (height * width < 2 || short < 1) {
    throw new SegmentError('badInput', `the image is ${width}×${height} pixels: too small or too thin to segment ` +
      `(SAM resizes its longest side to ${SAM_IMAGE_SIZE}; the other must keep at least one pixel, at most 2048:1)`);
  }
}

/** Runs calls one at a time, in order: a waiting call holds only its arguments, not the image work's memory. */
function oneAtATime() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

interface ParsedInput { text: string; parse: ParsedExpression }

/** A call's expressions checked (a SegmentError naming the bad one) and parsed, unless a parse is given. */
function parseExpressions(expressions: ExpressionInput[], parseOptions: ParseOptions): ParsedInput[] {
  if (!Array.isArray(expressions) || expressions.length === 0) {
    throw new SegmentError('badInput', 'expressions must be a non-empty array of strings');
  }
  if (expressions.length > MAX_EXPRESSIONS) {
    throw new SegmentError('badInput', `${expressions.length} expressions in one call, more than ${MAX_EXPRESSIONS}`);
  }
  return expressions.map((e, i) => {
    const text = typeof e === 'string' ? e : typeof e === 'object' && e !== null ? e.text : e;
    if (typeof text !== 'string') {
      const got = typeof e === 'object' && e !== null && !Array.isArray(e) ? `an object whose text is ${typeOf(text)}` : typeOf(e);
      throw new SegmentError('badInput', `expressions[${i}] must be a string or { text: string }, got ${got}`);
    }
    if (text.length > MAX_EXPRESSION_CHARS) {
      throw new SegmentError('badInput', `expressions[${i}] is ${text.length} characters long, more than ${MAX_EXPRESSION_CHARS}`);
    }
    if (isBlank(text)) {
      throw new SegmentError('badInput', `expressions[${i}] is empty (nothing visible in it): give the object to find, e.g. "the dog on the left"`);
    }
    const parse = typeof e === 'string' || !e.parse ? parseExpression(text, parseOptions) : e.parse;
    return { text, parse };
  });
}

/** A call's expressions against a prepared image: their text features at once, then each one's scores
 *  (pipeline/expressionScores.ts) with its chosen proposal's mask and box. */
async function scoreExpressions(prepared: PreparedImage, parses: ParsedInput[], featurizer: TextFeaturizer,
  settings: ScoringSettings): Promise<ExpressionResult[]> {
  const { image, proposals, features, gemPatches } = prepared;
  const scoredImage = {
    height: image.height, width: image.width, count: proposals.count, masks: proposals.masks, boxesXYWH: proposals.boxesXYWH,
    features, gemPatches,
  };
  const textTimings: Record<string, number> = {};
  const texts: ExpressionTextFeatures[] = await timed(textTimings, 'text', () => featurizer.featurize(parses.map((p) => p.parse)));
  const results: ExpressionResult[] = [];
  for (const [e, { text, parse }] of parses.entries()) {
    const timings: Record<string, number> = { text: textTimings.text / parses.length };
    const tf = texts[e];
    const scored = await scoreExpression(scoredImage, {
      ensemble: tf.ensemble, otherNounsFeature: tf.otherNouns, gemPromptFeature: tf.gemPromptFeature,
      otherNouns: parse.otherNouns, position: parse.position, relation: parse.relation,
    }, settings, timings);
    const withMask = ({ proposal, clip, ...guided }: ProposalScores): Candidate =>
      ({ proposal, mask: prepared.proposalRle(proposal), bbox: bboxOf(proposals, proposal), clip, ...guided });
    const candidates = scored.candidates.map(withMask);
    const chosen = candidates.find((c) => c.proposal === scored.proposal);
    const [mask, bbox] = chosen ? [chosen.mask, chosen.bbox] : [prepared.proposalRle(scored.proposal), bboxOf(proposals, scored.proposal)];
    const { parse: _tree, ...parseFields } = parse;
    results.push({
      expression: text, mask, bbox, score: scored.score, proposal: scored.proposal,
      hybrid: scored.hybrid, parse: parseFields, candidates, ...(scored.guidedByK ? { guidedByK: scored.guidedByK } : {}), timings,
    });
  }
  return results;
}

export async function createSegmenter(options: SegmenterOptions): Promise<Segmenter> {
  checkSegmenterOptions(options);
  const fusion = options.fusion ?? 'G2L';
  const quirks = { rightNever: true, aliasedPool: true, nanCoherence: true, ...options.quirks };
  const parseOptions: ParseOptions = { quirks: { rightNever: quirks.rightNever } };
  const guidance = options.guidance ?? true;
  const topK = options.topK ?? 5;
  const decode = checkDecodeOptions(options.decode);
  let maxPixels: number;
  try {
    maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  } catch (err) {
    throw new SegmentError('badInput', (err as Error).message);
  }
  // Every model this configuration calls is checked at load (before any image work).
  const needed = neededModels(fusion, guidance);
  let models: Models;
  if (typeof options.models === 'string') {
    if (!existsSync(join(options.models, 'manifest.json'))) {
      throw new SegmentError('models', `no models at ${options.models} (manifest.json missing): fetch them with hybridgl models fetch --out ${options.models} (docs/models.md)`);
    }
    try {
      models = await loadModels(options.models, {
        device: options.device, precision: options.precision, vocabPath: options.vocabPath, models: needed, ...options.load,
      });
    } catch (err) {
      throw new SegmentError('models', err instanceof Error ? err.message : String(err));
    }
  } else {
    models = options.models; // loaded by the caller, who chose which (LoadModelsOptions.models)
  }
  const vocab = findVocab(models, options.vocabPath);
  const tokenizer: ClipTokenizer = createClipTokenizer(vocab);
  const featurizer = createTextFeaturizer({
    tokenizer,
    // GEM's prompt goes through open_clip's tokenizer in the reference (same ids but for special-token spellings).
    gemTokenizer: createClipTokenizer(vocab, { flavour: 'open_clip' }),
    encodeText: async (ids: Int32Array, n: number) => (await models.clipText({ data: ids, dims: [n, 77] })).data,
    dim: models.manifest.files.find((f) => f.model === 'clip_text')?.outputs[0].shape[1] as number,
    parseOptions,
    cacheLimit: options.textCacheLimit,
  });

  function decodeMask(rle: Rle): Uint8Array {
    return rleDecode(rle);
  }

  async function prepare(input: ImageInput, prepareOptions: PrepareOptions = {}): Promise<PreparedImage> {
    const timings: Record<string, number> = {};
    let image: RgbImage;
    try {
      image = await timed(timings, 'decode', async () => {
        await checkImageBudget(input, maxPixels);
        return loadImage(input, decode);
      });
    } catch (err) {
      throw new SegmentError('badInput', err instanceof Error ? err.message : String(err));
    }
    checkImageShape(image);
    // Before SAM, so that a photo too thin for it fails at once rather than after minutes of proposals.
    let localSource: Float32Array | undefined;
    if (options.localImage === 'resized-800') {
      try {
        localSource = await timed(timings, 'localImage', () => phraseCutLocalSource(image, maxPixels));
      } catch (err) {
        if (err instanceof ImageBudgetError) throw new SegmentError('badInput', err.message);
        throw err;
      }
    }
    const proposals = await generateProposals(image, models, options.proposals, timings, prepareOptions.onSamProgress);
    if (proposals.count === 0) {
      throw new SegmentError('noProposal', `no SAM proposal survived the filters for this ${image.height}×${image.width} image`);
    }
    const hybrid = await computeHybridFeatures(image, proposals.masks, proposals.count, models,
      { fusion, maskGrid: quirks.aliasedPool ? 'bilinear' : 'area', ...(localSource ? { localSource } : {}) }, timings);
    const gemPatches = guidance
      ? await timed(timings, 'gem', async () =>
        (await models.gemVisual({ data: prepareGemInput(image), dims: [1, 3, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE] })).data)
      : new Float32Array(0);
    const pixels = image.height * image.width;
    const rles = new Map<number, Rle>();
    const proposalRle = (i: number) => {
      let r = rles.get(i);
      if (!r) rles.set(i, (r = rleEncode(proposals.masks.subarray(i * pixels, (i + 1) * pixels), image.height, image.width)));
      return r;
    };
    return { image, proposals, features: hybrid.features, dim: hybrid.dim, gemPatches, timings, proposalRle };
  }

  // Concurrent calls on one segmenter wait, before decoding, so that memory stays one call's whatever their number:
  // one image is prepared at a time (a segment() call holds that turn through its scoring too), and one set of
  // expressions is scored at a time. Scoring one image while preparing the next (the eval's one-ahead) still overlaps.
  const imageTurn = oneAtATime();
  const scoringTurn = oneAtATime();
  const score = (prepared: PreparedImage, parses: ParsedInput[], segOptions: SegmentOptions) => scoringTurn(() =>
    scoreExpressions(prepared, parses, featurizer, {
      logitScale: models.logitScale, guidance, topK, alpha: options.alpha, nanCoherence: quirks.nanCoherence,
      k: segOptions.k, kVariants: segOptions.kVariants,
    }));
  return {
    models,
    localImage: options.localImage ?? 'photo',
    prepare: (input, prepareOptions) => imageTurn(() => prepare(input, prepareOptions)),
    segmentPrepared: async (prepared, expressions, segOptions = {}) => {
      checkSegmentOptions(segOptions);
      return score(prepared, parseExpressions(expressions, parseOptions), segOptions);
    },
    decodeMask,
    async segment(input, expressions, segOptions) {
      checkSegmentOptions(segOptions);
      const parses = parseExpressions(expressions, parseOptions); // bad expressions fail before the image work
      return imageTurn(async () => {
        const prepared = await prepare(input);
        const results = await score(prepared, parses, segOptions ?? {});
        const { image, proposals, timings } = prepared;
        return { imageData: image, height: image.height, width: image.width, proposals: proposals.count, results, timings };
      });
    },
    async dispose() {
      if (typeof options.models === 'string') await models.dispose();
    },
  };
}
