#!/usr/bin/env bash
# Load time and resident memory: builds bench/load (Release, -DALBERTNER_BUILD_BENCH=ON) into BUILD
# (default build-bench) and runs it on MODEL (default: SHARED/golden/base converted, the ALBERT-base
# shape) with any extra options (--loads N --lens 16,128,512). Prints one JSON object.
# Environment: SHARED (default ../shared beside the repository), BUILD, JOBS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
shared=${SHARED:-$repo/../shared}
build=${BUILD:-build-bench}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DALBERTNER_BUILD_BENCH=ON -DALBERTNER_BUILD_TESTS=OFF \
  -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_INSTALL=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target albertner_load albertner_cli >/dev/null
model=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$model" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  model=$tmp/base.safetensors
  "$build/albertner" convert "$shared/golden/base" -o "$model" 2>/dev/null
fi
"$build/bench/load" "$model" "$@"
