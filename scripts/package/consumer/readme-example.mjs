// Writes the README's API example (the first ```ts block that imports 'hybridgl', from the installed package's
// README; its info string may go on, e.g. ```ts runnable: docs/developing.md) as OUT.mjs, verbatim but for its two
// placeholder paths: the models directory and the photo.
// usage: node readme-example.mjs README.md MODELS_DIR IMAGE OUT.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const [readme, models, image, out] = process.argv.slice(2);
const blocks = [...readFileSync(readme, 'utf8').matchAll(/```ts(?:[ \t][^\n]*)?\n([\s\S]*?)```/g)].map((m) => m[1]);
const example = blocks.find((b) => b.includes("from 'hybridgl'"));
if (!example) throw new Error(`${readme}: no \`\`\`ts block imports 'hybridgl'`);
let code = example;
for (const [placeholder, path] of [["'/path/to/models'", models], ["'photo.jpg'", image]]) {
  if (!code.includes(placeholder)) throw new Error(`${readme}: the API example has no ${placeholder} to point at the fixture`);
  code = code.replace(placeholder, JSON.stringify(path));
}
writeFileSync(out, code);
