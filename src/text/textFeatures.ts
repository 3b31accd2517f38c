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
  /** Tokenizer of GEM's prompt (open_clip flavour); defaults to the CLIP tokenizer, which gives the same ids unless
   * the noun phrase spells a special token. */
  gemTokenizer?: ClipTokenizer;
  /** Feature width (512 for ViT-B/16). */
  dim?: number;
  /** Used for expressions given as strings. */
  parseOptions?: ParseOptions;
  /** Encoded strings kept; the oldest are dropped beyond this (default 10 000). */
  cacheLimit?: number;
}

export interface ExpressionTextFeatures {
  /** The expression as given (for a parse: its sentence). */
  expression: string;
  parsed: ParsedExpression;
  /** f(sentence) */
  sentence: Float32Array;
  /** f(noun phrase) */
  nounPhrase: Float32Array;
  /** 0.5·f(sentence) + 0.5·f(noun phrase): the text side of the CLIP score */
  ensemble: Float32Array;
  /** Mean over the other noun phrases p of f("a photo of " + p); all zeros when there is none. */
  otherNouns: Float32Array;
  otherNounCount: number;
  /** GEM's prompt "a photo of a {noun phrase}." */
  gemPrompt: string;
  /** f(gemPrompt), GEM's text (open_clip's ViT-B/16 text tower has CLIP's weights) */
  gemPromptFeature: Float32Array;
  /** The prompt's 77 ids (zero padded), as open_clip tokenizes it. */
  gemPromptIds: Int32Array;
  /** Strings of this expression cut at 77 tokens (the reference would raise; open_clip cuts silently). */
  truncated: string[];
}

export interface TextFeaturizer {
  /** Features of every expression (a string, parsed here, or a parse), with at most one encoder call for all
   * strings not yet cached. */
  featurize(expressions: ReadonlyArray<string | ParsedExpression>): Promise<ExpressionTextFeatures[]>;
  /** Number of encoder calls made so far. */
  readonly encoderCalls: number;
  readonly cacheSize: number;
}

interface Needed {
  key: string;
  text: string;
  tokenizer: ClipTokenizer;
}

export function createTextFeaturizer(options: TextFeaturizerOptions): TextFeaturizer {
  const { tokenizer, encodeText } = options ?? ({} as TextFeaturizerOptions);
  if (!tokenizer || typeof tokenizer.tokenize !== 'function') {
    throw new TypeError('options.tokenizer must be a ClipTokenizer');
  }
  if (typeof encodeText !== 'function') throw new TypeError('options.encodeText must be a function');
  const gemTokenizer = options.gemTokenizer ?? tokenizer;
  const dim = options.dim ?? 512;
  const cacheLimit = options.cacheLimit ?? 10_000;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`options.dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(cacheLimit) || cacheLimit < 0) {
    throw new RangeError(`options.cacheLimit must be a non-negative integer, got ${cacheLimit}`);
  }
  const cache = new Map<string, Float32Array>();
  const truncatedKeys = new Set<string>();
  let encoderCalls = 0;

  const clipItem = (text: string): Needed => ({ key: 'clip\0' + text, text, tokenizer });
  // With one tokenizer for both, the prompt shares the CLIP strings' cache entries.
  const gemItem = (text: string): Needed =>
    gemTokenizer === tokenizer ? clipItem(text) : { key: 'gem\0' + text, text, tokenizer: gemTokenizer };

  /** The strings one expression needs (spec §5, §8). */
  function neededBy(p: ParsedExpression): { clip: Needed[]; gem: Needed } {
    const clip = [p.sentence, p.nounPhrase, ...p.otherNounPhrases.map((x) => 'a photo of ' + x)].map(clipItem);
    return { clip, gem: gemItem(`a photo of a ${p.nounPhrase}.`) };
  }

  /** Encodes everything not cached in one call; returns every needed key's feature. */
  async function encodeMissing(items: Needed[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const missing = new Map<string, Needed>();
    for (const item of items) {
      const hit = cache.get(item.key);
      if (hit) found.set(item.key, hit);
      else missing.set(item.key, item);
    }
    if (missing.size === 0) return found;
    const list = [...missing.values()];
    const ids = new Int32Array(list.length * CLIP_CONTEXT_LENGTH);
    list.forEach((item, row) => {
      const batch = item.tokenizer.tokenize(item.text, CLIP_CONTEXT_LENGTH);
      if (batch.truncated.length > 0) truncatedKeys.add(item.key);
      ids.set(batch.ids, row * CLIP_CONTEXT_LENGTH);
    });
    encoderCalls++;
    const features = await encodeText(ids, list.length);
    if (!(features instanceof Float32Array) || features.length !== list.length * dim) {
      throw new RangeError(
        `encodeText returned ${features instanceof Float32Array ? `${features.length} floats` : typeof features}, ` +
          `expected a Float32Array of ${list.length}×${dim}`,
      );
    }
    list.forEach((item, row) => {
      const vector = features.slice(row * dim, (row + 1) * dim);
      found.set(item.key, vector);
      if (cacheLimit > 0) {
        if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
        cache.set(item.key, vector);
      }
    });
    return found;
  }

  async function featurize(expressions: ReadonlyArray<string | ParsedExpression>): Promise<ExpressionTextFeatures[]> {
    if (!Array.isArray(expressions)) throw new TypeError('expressions must be an array');
    const parsed = expressions.map((e, i) => {
      if (typeof e === 'string') return parseExpression(e, options.parseOptions);
      if (e && typeof e === 'object' && typeof e.sentence === 'string' && typeof e.nounPhrase === 'string' &&
        Array.isArray(e.otherNounPhrases)) return e;
      throw new TypeError(`expressions[${i}] must be a string or a parseExpression result`);
    });
    const needs = parsed.map(neededBy);
    const found = await encodeMissing(needs.flatMap((n) => [...n.clip, n.gem]));
    return parsed.map((p, k) => {
      const [sentenceItem, nounPhraseItem, ...otherItems] = needs[k].clip;
      const sentence = found.get(sentenceItem.key)!;
      const nounPhrase = found.get(nounPhraseItem.key)!;
      const ensemble = new Float32Array(dim);
      for (let i = 0; i < dim; i++) ensemble[i] = 0.5 * sentence[i] + 0.5 * nounPhrase[i];
      // As the reference: accumulate in float32 from zero, then divide by the count.
      const otherNouns = new Float32Array(dim);
      for (const item of otherItems) {
        const f = found.get(item.key)!;
        for (let i = 0; i < dim; i++) otherNouns[i] += f[i];
      }
      if (otherItems.length > 0) for (let i = 0; i < dim; i++) otherNouns[i] /= otherItems.length;
      const gem = needs[k].gem;
      const given = expressions[k];
      return {
        expression: typeof given === 'string' ? given : p.sentence,
        parsed: p,
        sentence,
        nounPhrase,
        ensemble,
        otherNouns,
        otherNounCount: otherItems.length,
        gemPrompt: gem.text,
        gemPromptFeature: found.get(gem.key)!,
        gemPromptIds: gem.tokenizer.tokenize(gem.text, CLIP_CONTEXT_LENGTH).ids,
        truncated: [...needs[k].clip, gem].filter((item) => truncatedKeys.has(item.key)).map((item) => item.text),
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
