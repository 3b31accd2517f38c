// Spec §5 (text features), §7 (other nouns), §8 (GEM prompt): per-expression text inputs of the CLIP score.
import type { ClipTokenizer } from './clipTokenizer.ts';
import { CLIP_CONTEXT_LENGTH } from './clipTokenizer.ts';
import { parseExpression } from './parseExpression.ts';
import type { ParsedExpression, ParseOptions } from './parseExpression.ts';

/** The CLIP text encoder: ids [n × 77] (zero padded) → features [n × dim], raw (not normalised). */
export type EncodeText = (ids: Int32Array, n: number) => Promise<Float32Array>;

export interface TextFeaturizerOptions {
  /** Tokenizer for the CLIP encoder's inputs (OpenAI flavour, as the reference's clip.tokenize). */
  tokenizer: ClipTokenizer;
  encodeText: EncodeText;
  /** Tokenizer for GEM's prompt (open_clip flavour); defaults to `tokenizer`. */
  gemTokenizer?: ClipTokenizer;
  /** Feature width (512 for ViT-B/16). */
  dim?: number;
  parseOptions?: ParseOptions;
  /** Encoded strings kept; the oldest are dropped beyond this (default 10 000). */
  cacheLimit?: number;
}

export interface ExpressionTextFeatures {
  expression: string;
  parsed: ParsedExpression;
  /** f(sentence) */
  sentence: Float32Array;
  /** f(noun phrase) */
  nounPhrase: Float32Array;
  /** 0.5·f(sentence) + 0.5·f(noun phrase), the text side of the CLIP score */
  ensemble: Float32Array;
  /** mean over other noun phrases p of f("a photo of " + p); all zeros when there is none */
  otherNouns: Float32Array;
  otherNounCount: number;
  /** GEM's prompt "a photo of a {noun phrase}." and its 77 ids (open_clip tokenizer, zero padded) */
  gemPrompt: string;
  gemPromptIds: Int32Array;
  /** Strings of this expression that were longer than 77 tokens and were cut (the reference would raise). */
  truncated: string[];
}

export interface TextFeaturizer {
  /** Features of every expression, with one encoder call for all strings not yet cached. */
  featurize(expressions: readonly string[]): Promise<ExpressionTextFeatures[]>;
  /** Number of encoder calls made so far. */
  readonly encoderCalls: number;
  readonly cacheSize: number;
}

/** The strings one expression needs encoded (spec §5): sentence, noun phrase, "a photo of " + each other phrase. */
function stringsOf(parsed: ParsedExpression): string[] {
  return [parsed.sentence, parsed.nounPhrase, ...parsed.otherNounPhrases.map((p) => 'a photo of ' + p)];
}

export function createTextFeaturizer(options: TextFeaturizerOptions): TextFeaturizer {
  const { tokenizer, encodeText } = options;
  if (!tokenizer || typeof tokenizer.tokenize !== 'function') throw new TypeError('options.tokenizer must be a ClipTokenizer');
  if (typeof encodeText !== 'function') throw new TypeError('options.encodeText must be a function');
  const gemTokenizer = options.gemTokenizer ?? tokenizer;
  const dim = options.dim ?? 512;
  const cacheLimit = options.cacheLimit ?? 10_000;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`options.dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(cacheLimit) || cacheLimit < 0) {
    throw new RangeError(`options.cacheLimit must be a non-negative integer, got ${cacheLimit}`);
  }
  const cache = new Map<string, Float32Array>();
  const truncatedStrings = new Set<string>();
  let encoderCalls = 0;

  async function encodeMissing(strings: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const missingSet = new Set<string>();
    for (const s of strings) {
      const hit = cache.get(s);
      if (hit) found.set(s, hit);
      else missingSet.add(s);
    }
    const missing = [...missingSet];
    if (missing.length === 0) return found;
    const batch = tokenizer.tokenize(missing, CLIP_CONTEXT_LENGTH);
    for (const row of batch.truncated) truncatedStrings.add(missing[row]);
    encoderCalls++;
    const features = await encodeText(batch.ids, missing.length);
    if (!(features instanceof Float32Array) || features.length !== missing.length * dim) {
      throw new RangeError(
        `encodeText returned ${features instanceof Float32Array ? `${features.length} floats` : typeof features}, ` +
          `expected a Float32Array of ${missing.length}×${dim}`,
      );
    }
    missing.forEach((s, row) => {
      const vector = features.slice(row * dim, (row + 1) * dim);
      found.set(s, vector);
      if (cacheLimit > 0) {
        if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
        cache.set(s, vector);
      }
    });
    return found;
  }

  async function featurize(expressions: readonly string[]): Promise<ExpressionTextFeatures[]> {
    if (!Array.isArray(expressions)) throw new TypeError('expressions must be an array of strings');
    expressions.forEach((e, i) => {
      if (typeof e !== 'string') throw new TypeError(`expressions[${i}] must be a string, got ${typeof e}`);
    });
    const parsed = expressions.map((e) => parseExpression(e, options.parseOptions));
    const features = await encodeMissing(parsed.flatMap(stringsOf));
    return parsed.map((p, k) => {
      const sentence = features.get(p.sentence)!;
      const nounPhrase = features.get(p.nounPhrase)!;
      const ensemble = new Float32Array(dim);
      for (let i = 0; i < dim; i++) ensemble[i] = 0.5 * sentence[i] + 0.5 * nounPhrase[i];
      // As the reference: accumulate in float32 from zero, then divide by the count.
      const otherNouns = new Float32Array(dim);
      for (const phrase of p.otherNounPhrases) {
        const f = features.get('a photo of ' + phrase)!;
        for (let i = 0; i < dim; i++) otherNouns[i] += f[i];
      }
      const count = p.otherNounPhrases.length;
      if (count > 0) for (let i = 0; i < dim; i++) otherNouns[i] /= count;
      const gemPrompt = `a photo of a ${p.nounPhrase}.`;
      const gemBatch = gemTokenizer.tokenize(gemPrompt, CLIP_CONTEXT_LENGTH);
      const truncated = stringsOf(p).filter((s) => truncatedStrings.has(s));
      if (gemBatch.truncated.length > 0) truncated.push(gemPrompt);
      return {
        expression: expressions[k],
        parsed: p,
        sentence,
        nounPhrase,
        ensemble,
        otherNouns,
        otherNounCount: count,
        gemPrompt,
        gemPromptIds: gemBatch.ids,
        truncated,
      };
    });
  }

  return {
    featurize,
    get encoderCalls() {
      return encoderCalls;
    },
    get cacheSize() {
      return cache.size;
    },
  };
}
