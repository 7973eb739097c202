#!/usr/bin/env bash
# Quick start: install the dependencies, build the library and the CLI (Release) into build/,
# convert the tiny test checkpoint from ../shared into one .safetensors file and tag a sentence.
# SHARED overrides where the shared fixtures are (default: the folder `shared` beside the repository).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
SHARED=${SHARED:-$repo/../shared}

bash scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_BUILD_TESTS=OFF \
  -DALBERTNER_SHARED_DIR="$SHARED"
cmake --build build -j "$(nproc)"

# The CLI lands at build/albertner: tools/ names its target albertner_cli (the library already owns the
# name `albertner`) with OUTPUT_NAME albertner and RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}.
cli=build/albertner
if [ ! -x "$cli" ]; then
  echo "demo: $cli was not built (see tools/CMakeLists.txt)" >&2
  exit 1
fi
if [ ! -d "$SHARED/golden/tiny" ]; then
  echo "demo: $SHARED/golden/tiny not found; set SHARED to the shared fixtures folder" >&2
  exit 1
fi

set -x
"$cli" convert "$SHARED/golden/tiny" -o build/tiny.safetensors
"$cli" tag build/tiny.safetensors "George Washington went to Washington."
