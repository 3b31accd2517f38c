// Writes exports-check.ts from what the installed package exports at run time: the TypeScript check then fails if a
// runtime export is missing from the package's declarations, or the declarations promise a value it does not export.
// usage: node exports-check.mjs OUT.ts   (run where 'hybridgl' resolves to the installed package)
import { writeFileSync } from 'node:fs';

const names = Object.keys(await import('hybridgl')).filter((n) => n !== 'default').sort();
if (names.length === 0) throw new Error("import('hybridgl') exports nothing");
writeFileSync(process.argv[2], `// Written by exports-check.mjs from the package's ${names.length} runtime exports.
import * as hybridgl from 'hybridgl';

export const runtimeExports = ${JSON.stringify(names, null, 2)} as const satisfies readonly (keyof typeof hybridgl)[];
type NotAtRunTime = Exclude<keyof typeof hybridgl, (typeof runtimeExports)[number]>;
export const allDeclaredExist: [NotAtRunTime] extends [never] ? true : NotAtRunTime = true;
`);
console.log(`exports-check: ${names.length} runtime exports`);
