#!/usr/bin/env bash
# Builds and runs tests/embedded (-Os -fno-exceptions -fno-rtti -Wall -Wextra -Wpedantic -Werror)
# once with g++ and once with clang++. clang++ is optional: without it that half is reported as skipped.
# Usage: tests/embedded/run.sh BUILD_ROOT
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_ROOT" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
mkdir -p "$1"
root=$(cd "$1" && pwd)
jobs=${JOBS:-2}

build_and_run() { # NAME COMPILER
  local dir="$root/embedded-$1"
  printf '\n--- embedded: %s (%s)\n' "$1" "$2"
  rm -rf "$dir"
  cmake -S "$here" -B "$dir" -DCMAKE_CXX_COMPILER="$2" -DCMAKE_BUILD_TYPE= -DALBERTNER_SOURCE_DIR="$src"
  if ! cmake --build "$dir" -j "$jobs" -- VERBOSE=1 >"$dir/build.log" 2>&1; then
    cat "$dir/build.log"
    return 1
  fi
  grep -F -- '-fno-exceptions' "$dir/build.log" # show the compile line
  "$dir/embedded"
  size "$dir/embedded" 2>/dev/null || true
}

build_and_run gcc "${ALBERTNER_GXX:-g++}"
if command -v "${ALBERTNER_CLANGXX:-clang++}" >/dev/null 2>&1; then
  build_and_run clang "${ALBERTNER_CLANGXX:-clang++}"
else
  echo "embedded: clang++ skipped (not installed; Debian: apt-get install clang)"
fi
printf '\nembedded: all builds passed\n'
