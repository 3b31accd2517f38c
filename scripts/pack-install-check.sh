#!/usr/bin/env bash
# CI: the published package installs without a toolchain. Builds the prebuild (prebuilds/ is not committed; the
# build honours HYBRIDGL_CUDA as npm install does), packs the package, installs the tarball into an empty directory
# offline from the npm cache with a PATH of only node, npm and basic utilities (no cmake, c++, g++, cc, python3),
# segments a photo with the fixture models and converts the fixture checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PLATFORM=$(node -p 'process.platform + "-" + process.arch')

if ! ls "prebuilds/$PLATFORM"/*.node >/dev/null 2>&1; then npm run prebuild; fi
npm pack --silent --pack-destination "$WORK" >/dev/null
TARBALL=$(ls "$WORK"/hybridgl-*.tgz)

# Fill the npm cache (a CI runner's `npm install` has done so already); the clean install below is --offline.
mkdir "$WORK/warm" && (cd "$WORK/warm" && echo '{"name":"warm","version":"1.0.0","private":true}' > package.json &&
  npm install --prefer-offline --ignore-scripts --no-audit --no-fund "$TARBALL" >/dev/null)

mkdir "$WORK/bin" "$WORK/app"
for tool in node npm npx sh bash env cat ls mkdir rm cp mv ln chmod dirname basename uname sed grep tar gzip head \
  tail tr sort mktemp touch readlink realpath cut wc; do
  if p=$(command -v "$tool"); then ln -s "$(readlink -f "$p")" "$WORK/bin/$tool"; fi
done
# npm and npx are scripts that find their package through their own path: link the package's entry points.
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
ln -sf "$NPM_DIR/bin/npm-cli.js" "$WORK/bin/npm"
ln -sf "$NPM_DIR/bin/npx-cli.js" "$WORK/bin/npx"
for tool in cmake c++ g++ gcc cc python3 python nvcc make; do
  if PATH="$WORK/bin" command -v "$tool" >/dev/null; then echo "pack-install-check: $tool is on the clean PATH" >&2; exit 1; fi
done

cd "$WORK/app"
echo '{"name":"app","version":"1.0.0","private":true}' > package.json
PATH="$WORK/bin" ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --offline --no-audit --no-fund --foreground-scripts "$TARBALL" \
  2>&1 | tee "$WORK/install.log"
grep -q 'hybridgl: using the prebuilt addon' "$WORK/install.log"  # the install script took the prebuild, built nothing
PKG="$WORK/app/node_modules/hybridgl"
test -e "$PKG/prebuilds/$PLATFORM" && ! test -e "$PKG/build"
PATH="$WORK/bin" npx hybridgl info   # the prebuilt addon loads (CPU backend where CUDA is absent)
PATH="$WORK/bin" npx hybridgl segment "$ROOT/assets/demo.jpg" "the dog on the left" --models "$ROOT/test/fixtures/e2e/models" \
  --vocab "$PKG/models/vocab/bpe_simple_vocab_16e6.txt.gz" --device cpu --json "$WORK/result.json"
# The converter runs from the tarball too (tiny fixture checkpoints and their templates).
FIX="$ROOT/test/fixtures/convert"
PATH="$WORK/bin" npx hybridgl models convert --sam "$FIX/sam_vit_b-tiny.pth" --clip "$FIX/clip_vit_b_16-tiny.pt" \
  --sam-type vit_b-tiny --templates "$FIX/templates" --out "$WORK/converted"
node -e 'const r = require(process.argv[1]); if (!r[0] || !r[0].mask) process.exit(1); console.log("pack-install-check: segmented, bbox", JSON.stringify(r[0].bbox))' "$WORK/result.json"
