#!/usr/bin/env bash
# The package installs where it has no prebuild (macOS, Windows, a platform without one): the tarball less prebuilds/
# is installed into a fresh project, where npm hoists cmake-js and node-addon-api beside hybridgl, and the install
# script compiles the addon with them (found by module resolution); then the consumer tests run against it.
# HYBRIDGL_CUDA defaults to OFF here (the CPU build; AUTO or ON to compile the CUDA kernels too).
# usage: scripts/package/source-install-check.sh TARBALL
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARBALL=$(readlink -f "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/unpacked" && tar -xzf "$TARBALL" -C "$WORK/unpacked"
rm -rf "$WORK/unpacked/package/prebuilds"
tar -czf "$WORK/hybridgl-source.tgz" -C "$WORK/unpacked" package

mkdir "$WORK/app" && cd "$WORK/app"
echo '{"name":"app","version":"1.0.0","private":true}' > package.json
HYBRIDGL_CUDA=${HYBRIDGL_CUDA:-OFF} ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --prefer-offline --no-audit --no-fund \
  --foreground-scripts "$WORK/hybridgl-source.tgz" '@types/node@^20.19.0' 2>&1 | tee "$WORK/install.log"
grep -q 'hybridgl: building the native addon' "$WORK/install.log"
if grep EBADENGINE "$WORK/install.log"; then exit 1; fi
PKG=$WORK/app/node_modules/hybridgl
test -f "$PKG/build/Release/hybridgl.node" && ! test -e "$PKG/prebuilds"
test -d node_modules/cmake-js && ! test -e "$PKG/node_modules/cmake-js"  # hoisted: found by resolution, not by path
"$ROOT/scripts/package/consumer-check.sh" "$WORK/app"
echo "source-install-check: compiled at install, consumer tests passed"
