#!/usr/bin/env bash
# The linux-arm64 prebuild of an installed package loads through the package's own loader (node-gyp-build picks
# prebuilds/linux-arm64/) on an arm64 Node (from the npm registry) under qemu-user, and its kernels answer.
# usage: scripts/package/arm64-load-check.sh APP   (APP: a project with hybridgl installed from the tarball)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$(cd "$1/node_modules/hybridgl" && pwd)
NODE_ARM64=$("$ROOT/scripts/package/registry-node.sh" 20 linux-arm64)
qemu-aarch64 -L /usr/aarch64-linux-gnu "$NODE_ARM64" --input-type=module -e "
const { backendInfo } = await import('$PKG/dist/bindings/backend.js');
const { rleDecode, rleEncode } = await import('$PKG/dist/bindings/rle.js');
const mask = Uint8Array.from([0, 1, 1, 0, 1, 0]);
const back = rleDecode(rleEncode(mask, 2, 3));
if (process.arch !== 'arm64' || back.some((v, i) => v !== mask[i])) process.exit(1);
console.log('arm64-load-check: the linux-arm64 prebuild loads and runs on', process.arch, process.version,
  backendInfo().cudaCompiled ? '(CUDA)' : '(CPU kernels)');"
