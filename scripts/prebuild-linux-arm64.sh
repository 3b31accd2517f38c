#!/usr/bin/env bash
# The linux-arm64 prebuild (Graviton, Grace): the addon cross-compiled with Debian's aarch64 toolchain
# (g++-aarch64-linux-gnu; CPU kernels, no CUDA), stripped, written where prebuildify writes the linux-x64 one
# (prebuilds/linux-arm64/node.napi.node). Then the kernel tests, built with the same toolchain, run under qemu-user
# (CTest runs them through the toolchain's emulator). cmake-js comes from module resolution, as at install.
# usage: scripts/prebuild-linux-arm64.sh   (needs g++-aarch64-linux-gnu and qemu-user; .ci/run installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLCHAIN=$PWD/scripts/cross/aarch64-linux-gnu.cmake
CMAKE_JS=$(node -p "require.resolve('cmake-js/bin/cmake-js')")
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

node "$CMAKE_JS" compile --directory . --out build/arm64 --CDHYBRIDGL_CUDA=OFF --CDCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" >/dev/null
mkdir -p prebuilds/linux-arm64
aarch64-linux-gnu-strip -o prebuilds/linux-arm64/node.napi.node build/arm64/Release/hybridgl.node
node -e "if (require('fs').readFileSync(process.argv[1]).readUInt16LE(18) !== 183) process.exit(1)" \
  prebuilds/linux-arm64/node.napi.node  # ELF e_machine: EM_AARCH64

cmake -S . -B build/kernels-arm64 -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DHYBRIDGL_BUILD_TESTS=ON -DHYBRIDGL_CUDA=OFF >/dev/null
cmake --build build/kernels-arm64 --parallel "$CMAKE_BUILD_PARALLEL_LEVEL" --target kernel_tests >/dev/null
ctest --test-dir build/kernels-arm64 --output-on-failure
echo "prebuild-linux-arm64: prebuilds/linux-arm64/node.napi.node, kernel tests passed under qemu-aarch64"
