// The API's options checked before any work: createSegmenter's (SegmenterOptions) and each call's (SegmentOptions).
// A wrong type is a TypeError, a value out of its range a RangeError; each names the option as the caller spelt it.
import { HEAD_MODELS, PRECISIONS } from './models/loadModels.ts';
import type { SegmenterOptions, SegmentOptions } from './segmenterOptions.ts';

/** Candidates per expression, at most (each carries a mask's RLE). */
export const MAX_TOP_K = 100;
/** k1/k2 of the relation guidance, at most (the reference's are 3 and 6; the eval's sticky k only lowers them). */
export const MAX_K = 1024;
/** kVariants per call, at most. */
export const MAX_K_VARIANTS = 64;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function object(v: unknown, name: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isPlainObject(v)) throw new TypeError(`${name} must be an object, got ${describe(v)}`);
  return v;
}

function oneOf(v: unknown, name: string, allowed: readonly string[]): void {
  if (v !== undefined && !(typeof v === 'string' && allowed.includes(v))) {
    throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
}

function boolean(v: unknown, name: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${name} must be true or false, got ${describe(v)}`);
}

/** A number in [min, max] (integer when `integer`); NaN and ±Infinity are out of every range. */
function number(v: unknown, name: string, min: number, max: number, integer = false): void {
  if (v === undefined) return;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${v}`);
  }
}

/** SAM's post-processing thresholds and the generator's settings (spec §2, §10), each a finite number in its range. */
function checkProposals(v: unknown, name: string): void {
  const p = object(v, name);
  if (!p) return;
  number(p.pointsPerSide, `${name}.pointsPerSide`, 1, 256, true);
  const post = object(p.post, `${name}.post`);
  if (post) for (const [key, value] of Object.entries(post)) number(value, `${name}.post.${key}`, -1e6, 1e9);
  const amg = object(p.amg, `${name}.amg`);
  if (!amg) return;
  number(amg.pointsPerSide, `${name}.amg.pointsPerSide`, 1, 256, true);
  number(amg.pointsPerBatch, `${name}.amg.pointsPerBatch`, 1, 4096, true);
  number(amg.cropNLayers, `${name}.amg.cropNLayers`, 0, 4, true);
  number(amg.cropNPointsDownscaleFactor, `${name}.amg.cropNPointsDownscaleFactor`, 1, 256, true);
  number(amg.minMaskRegionArea, `${name}.amg.minMaskRegionArea`, 0, 1e9);
  for (const key of ['predIouThresh', 'stabilityScoreThresh', 'boxNmsThresh', 'cropNmsThresh', 'cropOverlapRatio'])
    number(amg[key], `${name}.amg.${key}`, 0, 1);
  number(amg.stabilityScoreOffset, `${name}.amg.stabilityScoreOffset`, 0, 1e3);
  number(amg.maskThreshold, `${name}.amg.maskThreshold`, -1e3, 1e3);
}

/** Checks createSegmenter's options (maxPixels and decode have their own checks, run beside this one). */
export function checkSegmenterOptions(options: unknown): asserts options is SegmenterOptions {
  if (!isPlainObject(options)) throw new TypeError(`createSegmenter needs an options object, got ${describe(options)}`);
  const { models } = options;
  if (models === undefined) throw new TypeError('options.models is required: a model directory (a path) or the Models from loadModels');
  if (typeof models === 'string') {
    if (models === '' || models.includes('\0')) throw new TypeError('options.models must be a model directory path, got an empty or NUL-bearing string');
  } else if (!isPlainObject(models) || !isPlainObject(models.manifest) || !Array.isArray(models.manifest.files)) {
    throw new TypeError(`options.models must be a model directory path or the Models from loadModels, got ${describe(models)}`);
  }
  oneOf(options.device, 'options.device', ['auto', 'cpu', 'cuda']);
  oneOf(options.precision, 'options.precision', PRECISIONS);
  oneOf(options.fusion, 'options.fusion', Object.keys(HEAD_MODELS));
  oneOf(options.localImage, 'options.localImage', ['photo', 'resized-800']);
  if (options.vocabPath !== undefined && (typeof options.vocabPath !== 'string' || options.vocabPath === '')) {
    throw new TypeError(`options.vocabPath must be a file path, got ${describe(options.vocabPath)}`);
  }
  boolean(options.guidance, 'options.guidance');
  number(options.topK, 'options.topK', 1, MAX_TOP_K, true);
  number(options.alpha, 'options.alpha', 0, 1);
  number(options.textCacheLimit, 'options.textCacheLimit', 0, Number.MAX_SAFE_INTEGER, true);
  const quirks = object(options.quirks, 'options.quirks');
  if (quirks) for (const key of ['rightNever', 'aliasedPool', 'nanCoherence']) boolean(quirks[key], `options.quirks.${key}`);
  const load = object(options.load, 'options.load');
  if (load) {
    for (const key of ['lazy', 'warmup', 'memoryArena']) boolean(load[key], `options.load.${key}`);
    const allocator = object(load.allocator, 'options.load.allocator');
    if (allocator) for (const key of ['mmapThresholds', 'releaseFreeHeap']) boolean(allocator[key], `options.load.allocator.${key}`);
  }
  object(options.decode, 'options.decode');
  checkProposals(options.proposals, 'options.proposals');
}

function checkK(v: unknown, name: string): void {
  const k = object(v, name);
  if (!k) throw new TypeError(`${name} must be an object { k1, k2 }, got ${describe(v)}`);
  for (const key of ['k1', 'k2']) {
    if (k[key] === undefined) throw new TypeError(`${name}.${key} is required (an integer from 1 to ${MAX_K})`);
    number(k[key], `${name}.${key}`, 1, MAX_K, true);
  }
}

/** Checks one call's SegmentOptions (k, kVariants). */
export function checkSegmentOptions(options: unknown): asserts options is SegmentOptions {
  const o = object(options, 'options');
  if (!o) return;
  if (o.k !== undefined) checkK(o.k, 'options.k');
  if (o.kVariants !== undefined) {
    if (!Array.isArray(o.kVariants)) throw new TypeError(`options.kVariants must be an array of { k1, k2 }, got ${describe(o.kVariants)}`);
    if (o.kVariants.length > MAX_K_VARIANTS) throw new RangeError(`options.kVariants has ${o.kVariants.length} entries, more than ${MAX_K_VARIANTS}`);
    o.kVariants.forEach((k, i) => checkK(k, `options.kVariants[${i}]`));
  }
}
