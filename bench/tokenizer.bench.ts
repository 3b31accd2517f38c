// CLIP tokenizer throughput on short referring expressions, cold (every text new) and with the text cache warm.
import { createClipTokenizer } from '../src/index.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';
import { printTable, timeIt } from './timing.ts';

const SUBJECTS = ['man', 'woman', 'guy', 'girl', 'kid', 'dog', 'pizza', 'car', 'chair', 'umbrella'];
const MODIFIERS = ['in red', 'on left', 'on right', 'in white shirt', 'in the middle', 'behind the bike', 'in front'];

export default async function bench(): Promise<void> {
  const tokenizer = createClipTokenizer(CLIP_VOCAB_PATH);
  const unique: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    unique.push(`${SUBJECTS[i % 10]} ${MODIFIERS[(i >> 3) % 7]} number ${i}`);
  }
  const realistic: string[] = [];
  for (let i = 0; i < 200_000; i++) realistic.push(`${SUBJECTS[(i * 7) % 10]} ${MODIFIERS[(i * 3) % 7]}`);
  // Cold: a fresh tokenizer each run, so neither cache helps on the first sight of each word or text.
  const cold = await timeIt(() => {
    const fresh = createClipTokenizer(CLIP_VOCAB_PATH);
    for (const t of unique) fresh.encode(t);
  }, 3);
  const load = await timeIt(() => createClipTokenizer(CLIP_VOCAB_PATH), 3);
  const warm = await timeIt(() => {
    for (const t of realistic) tokenizer.encode(t);
  });
  const batch = await timeIt(() => tokenizer.tokenize(realistic));
  printTable(
    ['case', 'texts', 'ms', 'texts/s'],
    [
      ['load vocabulary', 1, load * 1e3, 1 / load],
      ['encode, unique texts (word cache cold)', unique.length, (cold - load) * 1e3, unique.length / (cold - load)],
      ['encode, repeated (cache)', realistic.length, warm * 1e3, realistic.length / warm],
      ['tokenize [n×77], repeated', realistic.length, batch * 1e3, realistic.length / batch],
    ],
  );
}
