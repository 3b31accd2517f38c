// Text features with a deterministic stand-in encoder: batching, caching and the reference's arithmetic.
import { describe, expect, it } from 'vitest';
import { createClipTokenizer, createTextFeaturizer, parseExpression } from '../src/index.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';
import { rng } from './helpers.ts';

const DIM = 16;
const tokenizer = createClipTokenizer(CLIP_VOCAB_PATH);
const gemTokenizer = createClipTokenizer(CLIP_VOCAB_PATH, { flavour: 'open_clip' });

/** A fixed random projection of (token id, position) pairs: different strings give different features. */
function projectRow(ids: Int32Array): Float32Array {
  const out = new Float32Array(DIM);
  ids.forEach((id, pos) => {
    if (id === 0) return;
    const r = rng(id * 131 + pos);
    for (let j = 0; j < DIM; j++) out[j] += r() - 0.5;
  });
  return out;
}

function recordingEncoder() {
  const calls: number[] = [];
  const encodeText = async (ids: Int32Array, n: number): Promise<Float32Array> => {
    expect(ids.length).toBe(n * 77);
    calls.push(n);
    const out = new Float32Array(n * DIM);
    for (let row = 0; row < n; row++) out.set(projectRow(ids.subarray(row * 77, (row + 1) * 77)), row * DIM);
    return out;
  };
  return { calls, encodeText };
}

/** The feature the encoder gives one string on its own. */
function featureOf(text: string, tok = tokenizer): Float32Array {
  return projectRow(tok.tokenize(text).ids);
}

/** Every distinct string an expression needs: sentence, noun phrase, other-noun prompts, GEM prompt. */
function stringsOf(expression: string): string[] {
  const p = parseExpression(expression);
  const others = p.otherNounPhrases.map((x) => 'a photo of ' + x);
  return [p.sentence, p.nounPhrase, ...others, `a photo of a ${p.nounPhrase}.`];
}

const EXPRESSIONS = [
  'man on left',
  'guy in red shirt',
  'a woman in a blue dress holding an umbrella next to a man',
  'man on left', // a repeat: encoded once
];

describe('createTextFeaturizer', () => {
  it('encodes every string of an expression set in one call, each unique string once', async () => {
    const { calls, encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM });
    const out = await featurizer.featurize(EXPRESSIONS);
    expect(out.length).toBe(4);
    const unique = new Set(EXPRESSIONS.flatMap(stringsOf));
    expect(calls).toEqual([unique.size]);
    expect(featurizer.encoderCalls).toBe(1);
    expect(featurizer.cacheSize).toBe(unique.size);
  });

  it('serves cached strings without calling the encoder, and encodes only what is new', async () => {
    const { calls, encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM });
    await featurizer.featurize(['man on left', 'guy in red shirt']);
    const again = await featurizer.featurize(['guy in red shirt', parseExpression('man on left')]);
    expect(calls.length).toBe(1);
    expect(again[1].sentence).toEqual(featureOf('man on left'));
    // "man in red shirt": only the sentence is new; "man", "a photo of red shirt" and "a photo of a man." are cached.
    await featurizer.featurize(['man in red shirt', 'man on left']);
    expect(calls).toEqual([calls[0], 1]);
  });

  it('computes the ensemble, the other-noun average and the GEM prompt as the reference does', async () => {
    const { encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM, gemTokenizer });
    const [f] = await featurizer.featurize(['a woman in a blue dress holding an umbrella next to a man']);
    expect(f.parsed.nounPhrase).toBe('a woman');
    expect(f.sentence).toEqual(featureOf('a woman in a blue dress holding an umbrella next to a man'));
    expect(f.nounPhrase).toEqual(featureOf('a woman'));
    for (let i = 0; i < DIM; i++) {
      expect(f.ensemble[i]).toBe(Math.fround(0.5 * f.sentence[i] + 0.5 * f.nounPhrase[i]));
    }
    const others = ['a blue dress', 'an umbrella', 'a man'].map((p) => featureOf('a photo of ' + p));
    expect(f.otherNounCount).toBe(3);
    for (let i = 0; i < DIM; i++) {
      let acc = 0;
      for (const o of others) acc = Math.fround(acc + o[i]);
      expect(f.otherNouns[i]).toBe(Math.fround(acc / 3));
    }
    expect(f.gemPrompt).toBe('a photo of a a woman.');
    expect(Array.from(f.gemPromptIds)).toEqual(Array.from(gemTokenizer.tokenize('a photo of a a woman.').ids));
    expect(f.gemPromptFeature).toEqual(featureOf('a photo of a a woman.', gemTokenizer));
    expect(f.truncated).toEqual([]);
  });

  it('tokenizes the GEM prompt with the GEM tokenizer in the same encoder call', async () => {
    const { calls, encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM, gemTokenizer });
    // The parser splits "<start_of_text>" into pieces; a caller's own parse may keep it whole.
    const parsed = { ...parseExpression('the sign'), nounPhrase: 'the <start_of_text> sign' };
    const [f] = await featurizer.featurize([parsed]);
    expect(calls.length).toBe(1);
    expect(f.gemPromptIds.filter((id) => id === 49406).length).toBe(2); // open_clip's special token is recognised
    expect(f.gemPromptFeature).toEqual(featureOf(f.gemPrompt, gemTokenizer));
  });

  it('gives a zero other-noun vector when there is no other noun', async () => {
    const { encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM });
    const [f] = await featurizer.featurize(['left guy']);
    expect(f.otherNounCount).toBe(0);
    expect(Array.from(f.otherNouns).every((v) => v === 0)).toBe(true);
  });

  it('reports strings cut at 77 tokens, also when served from the cache', async () => {
    const { encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM });
    const long = Array(30).fill('the man in the red shirt').join(' and ');
    const [f] = await featurizer.featurize([long]);
    expect(f.truncated).toContain(f.parsed.sentence);
    const [g] = await featurizer.featurize([long]);
    expect(g.truncated).toEqual(f.truncated);
  });

  it('drops the oldest entries beyond the cache limit', async () => {
    const { calls, encodeText } = recordingEncoder();
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM, cacheLimit: 3 });
    await featurizer.featurize(['dog', 'cat']);
    expect(featurizer.cacheSize).toBe(3);
    await featurizer.featurize(['dog']);
    expect(calls.length).toBe(2);
  });

  it('rejects bad arguments and a wrongly sized encoder output', async () => {
    const encodeText = async (_ids: Int32Array, n: number) => new Float32Array(n * DIM - 1);
    expect(() => createTextFeaturizer({ tokenizer, encodeText: 3 as never })).toThrow(/encodeText/);
    expect(() => createTextFeaturizer({ tokenizer, encodeText, dim: 0 })).toThrow(/dim/);
    const featurizer = createTextFeaturizer({ tokenizer, encodeText, dim: DIM });
    await expect(featurizer.featurize(['man'])).rejects.toThrow(/encodeText returned/);
    await expect(featurizer.featurize([5 as never])).rejects.toThrow(/expressions\[0\]/);
  });
});
