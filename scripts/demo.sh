#!/usr/bin/env bash
# Quick start: install the dependencies, build the library and the CLI (Release) into build/, and tag
# two sentences with the bundled model.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_BUILD_TESTS=OFF
cmake --build build -j "$(nproc)"

cli=build/albertner
if [ ! -x "$cli" ]; then
  echo "demo: $cli was not built" >&2
  exit 1
fi

# The bundled model (models/albertner-conll03-small.safetensors, see docs/model-card.md) tags the
# sentence with `first`, the aggregation it was trained for (its file recommends it: albertner info).
set -x
"$cli" tag --format pretty "EU rejects German call to boycott British lamb ." \
  "Peter Blackburn met Angela Merkel in Berlin on Monday ."
"$cli" tag "EU rejects German call to boycott British lamb ."
