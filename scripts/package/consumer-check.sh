#!/usr/bin/env bash
# Consumer tests against an installed package, not the repository. APP is a fresh project with hybridgl installed from
# the tarball (and @types/node, for the TypeScript check); NODE (default: node on PATH) runs the apps, so the same
# checks prove another Node major. Reads only the fixtures from the repository (models, photo).
#  1. The README's API example as a plain .mjs app, verbatim but for its two paths: segments the bundled photo with
#     the fixture models.
#  2. require('hybridgl') from CommonJS (require(esm): Node >= 20.19 and >= 22.12).
#  3. A TypeScript app type-checked with strict and module nodenext against the shipped .d.ts only (skipLibCheck off).
#  4. Every runtime export is declared by the types, and every value the types declare exists (exports-check.mjs).
#  5. `hybridgl serve` runs from the package: models in its worker, the web page, /healthz, exit 0 on SIGTERM.
# usage: scripts/package/consumer-check.sh APP [NODE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/package/consumer
APP=$(cd "$1" && pwd)
NODE=${2:-node}
PKG=$APP/node_modules/hybridgl
echo "consumer-check: $APP with node $("$NODE" --version)"

rm -rf "$APP/consumer" && mkdir "$APP/consumer" && cd "$APP/consumer"
echo '{"name":"consumer","version":"1.0.0","private":true,"type":"module"}' > package.json

"$NODE" "$HERE/readme-example.mjs" "$PKG/README.md" "$ROOT/test/fixtures/e2e/models" "$ROOT/assets/demo.jpg" readme-example.mjs
HYBRIDGL_VOCAB="$PKG/models/vocab/bpe_simple_vocab_16e6.txt.gz" "$NODE" readme-example.mjs | tee readme-example.out
# One line per expression: expression, proposal, bbox, the mask's RLE length.
[ "$(grep -c '^the dog on the left [0-9]' readme-example.out)" = 1 ] && [ "$(grep -c '^the red bowl [0-9]' readme-example.out)" = 1 ]

cp "$HERE/require.cjs" require.cjs
"$NODE" require.cjs

cp "$HERE/app.ts" "$HERE/tsconfig.json" .
"$NODE" "$HERE/exports-check.mjs" exports-check.ts
"$NODE" "$ROOT/node_modules/typescript/bin/tsc" -p tsconfig.json

"$NODE" "$HERE/serve-check.mjs" "$PKG" "$ROOT/test/fixtures/e2e/models" "$PKG/models/vocab/bpe_simple_vocab_16e6.txt.gz"
echo "consumer-check: ok (README example, require, TypeScript strict/nodenext, exports = types, serve)"
