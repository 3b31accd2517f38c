// Expression parser throughput on the labelled corpus (wink-nlp tagging dominates).
import { readFileSync } from 'node:fs';
import { parseExpression } from '../src/index.ts';
import { printTable, timeIt } from './timing.ts';

export default async function bench(): Promise<void> {
  const corpus = JSON.parse(readFileSync(new URL('../test/fixtures/text/parse_corpus.json', import.meta.url), 'utf8'))
    .expressions as Array<{ text: string }>;
  const texts = corpus.map((c) => c.text);
  const t = await timeIt(() => {
    for (const text of texts) parseExpression(text);
  });
  printTable(
    ['case', 'expressions', 'ms', 'expressions/s'],
    [['parseExpression', texts.length, t * 1e3, texts.length / t]],
  );
}
