// Spec §5: CLIP tokenizer (byte-level BPE over bpe_simple_vocab_16e6, start/end tokens, context 77, zero padding).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { clipCleanText, WHITESPACE_CLASS } from './textCleanup.ts';

export const CLIP_CONTEXT_LENGTH = 77;
const MERGE_COUNT = 49152 - 256 - 2;
const START_TOKEN = '<|startoftext|>';
const END_TOKEN = '<|endoftext|>';
// Whole-text results kept for repeated expressions; bounded so a long-running process cannot grow without limit.
const TEXT_CACHE_LIMIT = 100_000;

export interface TokenizedBatch {
  /** n × contextLength ids, zero padded. */
  ids: Int32Array;
  n: number;
  contextLength: number;
  /** Indices of the texts that were longer than contextLength and were cut (the end token kept last). */
  truncated: number[];
}

export interface ClipTokenizer {
  /** Ids with the start and end tokens, no padding, no truncation. */
  encode(text: string): number[];
  /** [n × contextLength] zero-padded ids; over-long inputs keep their first contextLength−1 ids then the end token. */
  tokenize(texts: string | readonly string[], contextLength?: number): TokenizedBatch;
  readonly startToken: number;
  readonly endToken: number;
  readonly vocabSize: number;
}

/** CLIP's table from the 256 byte values to printable code points (bytes that are not printable go above 255),
 * and the order of those symbols in the vocabulary: the printable bytes first, then the others. */
function byteToUnicode(): { table: string[]; vocabOrder: string[] } {
  const table: string[] = new Array(256);
  const printable: string[] = [];
  const others: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const isPrintable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(isPrintable ? b : next++);
    (isPrintable ? printable : others).push(table[b]);
  }
  return { table, vocabOrder: [...printable, ...others] };
}

// CLIP's pre-tokenizer: the special tokens, English contractions, letter runs, single digits, runs of the rest.
// Python's `regex` \s is not JS's \s, hence the explicit class.
const PRE_TOKEN = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${WHITESPACE_CLASS}\\p{L}\\p{N}]+`,
  'giu',
);

/** Reads the gzipped merges file and builds the tokenizer. Throws naming the path if it is missing or malformed. */
export function createClipTokenizer(vocabPath: string): ClipTokenizer {
  if (typeof vocabPath !== 'string' || vocabPath === '') {
    throw new TypeError(`vocabPath must be a non-empty string, got ${String(vocabPath)}`);
  }
  let lines: string[];
  try {
    lines = gunzipSync(readFileSync(vocabPath)).toString('utf8').split('\n');
  } catch (err) {
    throw new Error(`cannot read the CLIP vocabulary ${vocabPath}: ${(err as Error).message}`);
  }
  if (lines.length < MERGE_COUNT + 1) {
    throw new Error(`CLIP vocabulary ${vocabPath} has ${lines.length - 1} merges, expected at least ${MERGE_COUNT}`);
  }
  const { table: byteChars, vocabOrder } = byteToUnicode();
  const encoder = new Map<string, number>();
  for (const c of vocabOrder) encoder.set(c, encoder.size);
  for (const c of vocabOrder) encoder.set(c + '</w>', encoder.size);
  // Pair ranks keyed "first second" (symbols never contain a space).
  const ranks = new Map<string, number>();
  for (let i = 0; i < MERGE_COUNT; i++) {
    const pair = lines[i + 1].split(/\s+/).filter((s) => s !== '');
    if (pair.length !== 2) {
      throw new Error(`CLIP vocabulary ${vocabPath}: merge line ${i + 2} is malformed: ${lines[i + 1]}`);
    }
    ranks.set(pair[0] + ' ' + pair[1], i);
    encoder.set(pair[0] + pair[1], encoder.size);
  }
  const startToken = encoder.size;
  encoder.set(START_TOKEN, startToken);
  const endToken = encoder.size;
  encoder.set(END_TOKEN, endToken);

  const byteEncoder = new TextEncoder();
  const wordCache = new Map<string, number[]>([
    [START_TOKEN, [startToken]],
    [END_TOKEN, [endToken]],
  ]);
  const textCache = new Map<string, number[]>();

  /** Byte-level BPE of one pre-token: repeatedly merge the lowest-ranked adjacent pair, all its occurrences. */
  function bpe(token: string): number[] {
    let word: string[] = [];
    for (const byte of byteEncoder.encode(token)) word.push(byteChars[byte]);
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = ranks.get(word[i] + ' ' + word[i + 1]);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = word[i];
          second = word[i + 1];
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i++]);
        }
      }
      word = merged;
    }
    return word.map((symbol) => encoder.get(symbol)!);
  }

  function encodeUncached(text: string): number[] {
    const ids = [startToken];
    const cleaned = clipCleanText(text).toLowerCase();
    for (const match of cleaned.matchAll(PRE_TOKEN)) {
      const piece = match[0];
      let pieceIds = wordCache.get(piece);
      if (pieceIds === undefined) {
        pieceIds = bpe(piece);
        wordCache.set(piece, pieceIds);
      }
      for (const id of pieceIds) ids.push(id);
    }
    ids.push(endToken);
    return ids;
  }

  function encode(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
    let ids = textCache.get(text);
    if (ids === undefined) {
      ids = encodeUncached(text);
      if (textCache.size >= TEXT_CACHE_LIMIT) textCache.clear();
      textCache.set(text, ids);
    }
    return ids.slice();
  }

  function tokenize(texts: string | readonly string[], contextLength = CLIP_CONTEXT_LENGTH): TokenizedBatch {
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list)) throw new TypeError('texts must be a string or an array of strings');
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new RangeError(`contextLength must be an integer ≥ 2, got ${contextLength}`);
    }
    const ids = new Int32Array(list.length * contextLength);
    const truncated: number[] = [];
    list.forEach((text, row) => {
      if (typeof text !== 'string') throw new TypeError(`texts[${row}] must be a string, got ${typeof text}`);
      let tokens = textCache.get(text) ?? encode(text);
      if (tokens.length > contextLength) {
        tokens = tokens.slice(0, contextLength);
        tokens[contextLength - 1] = endToken;
        truncated.push(row);
      }
      ids.set(tokens, row * contextLength);
    });
    return { ids, n: list.length, contextLength, truncated };
  }

  return { encode, tokenize, startToken, endToken, vocabSize: encoder.size };
}
