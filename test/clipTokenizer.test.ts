// CLIP tokenizer against ids from OpenAI's own tokenizer (scripts/fixtures/make_clip_tokens.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClipTokenizer } from '../src/index.ts';
import { clipCleanText, pythonHtmlUnescape } from '../src/text/textCleanup.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

interface Case {
  text: string;
  ids: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/text/clip_tokens.json', import.meta.url), 'utf8')) as {
  expressions: Case[];
  hard: Case[];
};
const tokenizer = createClipTokenizer(CLIP_VOCAB_PATH);

describe('createClipTokenizer', () => {
  it('matches the reference ids on every shared expression', () => {
    expect(fixture.expressions.length).toBeGreaterThan(100);
    const wrong = fixture.expressions.filter((c) => JSON.stringify(tokenizer.encode(c.text)) !== JSON.stringify(c.ids));
    expect(wrong.map((c) => c.text)).toEqual([]);
  });

  it.each(fixture.hard.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))(
    'matches the reference ids on hard string %s',
    (_, c) => {
      expect(tokenizer.encode(c.text)).toEqual(c.ids);
    },
  );

  it('has the 49408-entry vocabulary with start 49406 and end 49407', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(tokenizer.startToken).toBe(49406);
    expect(tokenizer.endToken).toBe(49407);
  });

  it('pads with zeros to the context length', () => {
    const batch = tokenizer.tokenize(['man on left', 'a dog']);
    expect(batch.n).toBe(2);
    expect(batch.ids.length).toBe(2 * 77);
    expect(Array.from(batch.ids.subarray(0, 5))).toEqual(tokenizer.encode('man on left'));
    expect(Array.from(batch.ids.subarray(5, 77)).every((v) => v === 0)).toBe(true);
    expect(Array.from(batch.ids.subarray(77, 77 + 4))).toEqual(tokenizer.encode('a dog'));
    expect(batch.truncated).toEqual([]);
  });

  it('truncates over-long input keeping the end token, and reports it', () => {
    const long = fixture.hard.find((c) => c.ids.length > 77)!;
    const batch = tokenizer.tokenize(['short', long.text, 'also short']);
    expect(batch.truncated).toEqual([1]);
    const row = Array.from(batch.ids.subarray(77, 154));
    expect(row.slice(0, 76)).toEqual(long.ids.slice(0, 76));
    expect(row[76]).toBe(49407);
    // Exactly 77 ids is not truncated.
    const exact = tokenizer.tokenize(long.text, long.ids.length);
    expect(exact.truncated).toEqual([]);
    expect(Array.from(exact.ids)).toEqual(long.ids);
  });

  it('returns the same ids from the cache, and copies the caller cannot corrupt', () => {
    const first = tokenizer.encode('guy in red shirt');
    first[1] = -1;
    expect(tokenizer.encode('guy in red shirt')).not.toContain(-1);
  });

  it('rejects bad input with errors naming it', () => {
    expect(() => createClipTokenizer('/nonexistent/vocab.txt.gz')).toThrow(/\/nonexistent\/vocab\.txt\.gz/);
    expect(() => tokenizer.encode(5 as unknown as string)).toThrow(/text must be a string/);
    expect(() => tokenizer.tokenize(['ok', 3 as unknown as string])).toThrow(/texts\[1\]/);
    expect(() => tokenizer.tokenize('x', 1)).toThrow(/contextLength/);
  });
});

describe('clipCleanText', () => {
  it('collapses Unicode whitespace as Python regex \\s does (NBSP, U+3000; not U+200B)', () => {
    expect(clipCleanText(' a\u00a0\u00a0b\u2003c\u200bd ')).toBe('a b c\u200bd');
  });
  it('applies NFC, uncurls quotes, splits ligatures, narrows full-width forms', () => {
    expect(clipCleanText('cafe\u0301 \u2019s \ufb01sh \uff21\uff11')).toBe('caf\u00e9 \'s fish A1');
  });
  it('unescapes HTML like Python html.unescape', () => {
    expect(pythonHtmlUnescape('&amp; &lt; &#39; &#x27; &notit; &#150; &#1;x &bogus;')).toBe("& < ' ' ¬it; \u2013 x &bogus;");
  });
});
