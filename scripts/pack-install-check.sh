#!/usr/bin/env bash
# CI: the packed package, installed as a user installs it, each time into a fresh project where npm hoists the
# dependencies. Builds the prebuild when missing (prebuilds/ is not committed; the build honours HYBRIDGL_CUDA as npm
# install does) and packs (`prepare` compiles the TypeScript to dist/). Then:
#  1. With the prebuilt addon and no toolchain: installs the tarball offline from the npm cache with a PATH of only
#     node, npm and basic utilities (no cmake, c++, g++, cc, python3), with no EBADENGINE warning; the CLI segments
#     a photo with the fixture models and converts the fixture checkpoints; the consumer tests
#     (scripts/package/consumer-check.sh: README example, require, TypeScript) run against the installed package.
#  2. The same on Node 22 and Node 24 (from the npm registry): install, no EBADENGINE, consumer tests.
#  3. The linux-arm64 prebuild, when the package carries one, loads on an arm64 Node under qemu-user.
#  4. Without a prebuild: scripts/package/source-install-check.sh (the addon compiled at install).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PLATFORM=$(node -p 'process.platform + "-" + process.arch')
NODE_MAJORS=(22 24)
TYPES_NODE='@types/node@^20.19.0'

if ! ls "prebuilds/$PLATFORM"/*.node >/dev/null 2>&1; then npm run prebuild; fi
npm pack --silent --pack-destination "$WORK" >/dev/null
TARBALL=$(ls "$WORK"/hybridgl-*.tgz)
# Compiled JavaScript with its declarations, no TypeScript source.
tar -tzf "$TARBALL" > "$WORK/files.txt"
grep -qx 'package/dist/src/index.js' "$WORK/files.txt" && grep -qx 'package/dist/src/index.d.ts' "$WORK/files.txt"
! grep -E '^package/(src|bindings)/|\.ts$' "$WORK/files.txt" | grep -v '\.d\.ts$'

# Fill the npm cache (a CI runner's `npm install` has done so already); the clean installs below are --offline.
mkdir "$WORK/warm" && (cd "$WORK/warm" && echo '{"name":"warm","version":"1.0.0","private":true}' > package.json &&
  npm install --prefer-offline --ignore-scripts --no-audit --no-fund "$TARBALL" "$TYPES_NODE" >/dev/null)
declare -A OTHER_NODE
for major in "${NODE_MAJORS[@]}"; do OTHER_NODE[$major]=$(scripts/package/registry-node.sh "$major"); done

# A bin directory of NODE, npm, npx and basic utilities only: the PATH of a machine with no toolchain.
clean_path() {
  local dir=$1 node=$2
  mkdir "$dir"
  for tool in sh bash env cat ls mkdir rm cp mv ln chmod dirname basename uname sed grep tar gzip head tail tr sort \
    mktemp touch readlink realpath cut wc tee; do
    if p=$(command -v "$tool"); then ln -s "$(readlink -f "$p")" "$dir/$tool"; fi
  done
  ln -s "$node" "$dir/node"
  # npm and npx are scripts that find their package through their own path: link the package's entry points.
  local npm_dir
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ln -s "$npm_dir/bin/npm-cli.js" "$dir/npm"
  ln -s "$npm_dir/bin/npx-cli.js" "$dir/npx"
  for tool in cmake c++ g++ gcc cc python3 python nvcc make; do
    if PATH="$dir" command -v "$tool" >/dev/null; then echo "pack-install-check: $tool is on the clean PATH" >&2; exit 1; fi
  done
}

# Installs the tarball into a fresh project APP with the clean PATH BIN: the prebuild taken, nothing built, no
# EBADENGINE; then @types/node for the TypeScript consumer.
install_app() {
  local app=$1 bin=$2
  mkdir "$app" && echo '{"name":"app","version":"1.0.0","private":true}' > "$app/package.json"
  (cd "$app" && PATH="$bin" ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --offline --no-audit --no-fund \
    --foreground-scripts "$TARBALL" 2>&1 | tee "$app.install.log")
  grep -q 'hybridgl: using the prebuilt addon' "$app.install.log"  # the install script took the prebuild, built nothing
  if grep EBADENGINE "$app.install.log"; then echo "pack-install-check: EBADENGINE on $(PATH="$bin" node --version)" >&2; exit 1; fi
  test -e "$app/node_modules/hybridgl/prebuilds/$PLATFORM" && ! test -e "$app/node_modules/hybridgl/build"
  (cd "$app" && PATH="$bin" npm install --offline --no-audit --no-fund --ignore-scripts "$TYPES_NODE" >/dev/null)
}

clean_path "$WORK/bin" "$(readlink -f "$(command -v node)")"
install_app "$WORK/app" "$WORK/bin"
cd "$WORK/app"
PKG="$WORK/app/node_modules/hybridgl"
PATH="$WORK/bin" npx hybridgl info   # the prebuilt addon loads (CPU backend where CUDA is absent)
PATH="$WORK/bin" npx hybridgl segment "$ROOT/assets/demo.jpg" "the dog on the left" --models "$ROOT/test/fixtures/e2e/models" \
  --vocab "$PKG/models/vocab/bpe_simple_vocab_16e6.txt.gz" --device cpu --json "$WORK/result.json"
# The converter runs from the tarball too (tiny fixture checkpoints and their templates).
FIX="$ROOT/test/fixtures/convert"
PATH="$WORK/bin" npx hybridgl models convert --sam "$FIX/sam_vit_b-tiny.pth" --clip "$FIX/clip_vit_b_16-tiny.pt" \
  --sam-type vit_b-tiny --templates "$FIX/templates" --out "$WORK/converted"
node -e 'const r = require(process.argv[1]); if (!r[0] || !r[0].mask) process.exit(1); console.log("pack-install-check: segmented, bbox", JSON.stringify(r[0].bbox))' "$WORK/result.json"
PATH="$WORK/bin" "$ROOT/scripts/package/consumer-check.sh" "$WORK/app"

for major in "${NODE_MAJORS[@]}"; do
  clean_path "$WORK/bin$major" "${OTHER_NODE[$major]}"
  install_app "$WORK/app$major" "$WORK/bin$major"
  PATH="$WORK/bin$major" "$ROOT/scripts/package/consumer-check.sh" "$WORK/app$major" "${OTHER_NODE[$major]}"
done

if grep -q '^package/prebuilds/linux-arm64/' "$WORK/files.txt" && command -v qemu-aarch64 >/dev/null; then
  "$ROOT/scripts/package/arm64-load-check.sh" "$WORK/app"
fi

"$ROOT/scripts/package/source-install-check.sh" "$TARBALL"
