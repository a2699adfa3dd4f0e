#!/usr/bin/env bash
# Compiles the native agent (src/core/agents/native/*.c, an LD_PRELOAD
# interposer of libzmq, one library) into dist/native/<platform>-<arch>/
# libzmq-debug-agent.so for linux-x64 (gcc) and linux-arm64 (Debian's
# aarch64-linux-gnu-gcc). It needs no zmq.h and no libzmq of the target: the
# functions it wraps are declared in the source and found at run time.
# A compiler that is missing is reported and skipped (the extension then
# compiles the agent on first use, or observes on the wire only); a compiler
# that fails fails the build. Called by `node esbuild.mjs`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_DIR="$ROOT/src/core/agents/native"
SOURCES=("$SRC_DIR"/*.c)
OUT="$ROOT/dist/native"
# -fvisibility=hidden: only libzmq's names and zmq_debug_agent_* are exported; no libzmq at link time
FLAGS=(-std=gnu11 -O2 -g0 -s -fPIC -shared -fvisibility=hidden -Wall -Wextra -Wl,--as-needed -Wl,-z,now -Wl,-z,relro)

build() {
  local cc="$1" target="$2"
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build-native: $cc not found, no $target build (install it, e.g. apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
    return 0
  fi
  mkdir -p "$OUT/$target"
  local so="$OUT/$target/libzmq-debug-agent.so"
  # rebuilt only when a source (or this script) is newer
  if [ -f "$so" ] && [ -z "$(find "$SRC_DIR" "${BASH_SOURCE[0]}" -newer "$so" \( -name '*.[ch]' -o -name '*.sh' \) -print -quit)" ]; then return 0; fi
  "$cc" "${FLAGS[@]}" -o "$so.tmp" "${SOURCES[@]}" -ldl -lpthread
  mv "$so.tmp" "$so"
}

case "$(uname -s)" in
  Linux) ;;
  *) echo "build-native: not Linux, no prebuilt native agent (compiled on first use instead)" >&2; exit 0 ;;
esac
build "${CC_X64:-$( [ "$(uname -m)" = x86_64 ] && echo gcc || echo x86_64-linux-gnu-gcc)}" linux-x64
build "${CC_ARM64:-$( [ "$(uname -m)" = aarch64 ] && echo gcc || echo aarch64-linux-gnu-gcc)}" linux-arm64
