#!/usr/bin/env bash
# Soak benchmark: builds bench/soak (Release, -DALBERTNER_BUILD_BENCH=ON) into BUILD (default
# build-bench) and tags SENTENCES (default 100000) CoNLL-2003 validation sentences, repeated, with
# MODEL in one process, printing RSS at start, middle and end and sentences/s.
# Usage: bench/soak.sh [MODEL] [SENTENCES] [extra soak options: --chunk K --threads T]
#   MODEL: an albertner model file or a Hugging Face folder (default: the bundled CoNLL-2003 model).
# Environment: SHARED (default ../shared beside the repository), BUILD, JOBS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
shared=${SHARED:-$repo/../shared}
build=${BUILD:-build-bench}
model=${1:-models/albertner-conll03-small.safetensors}
sentences=${2:-100000}
shift $(($# > 2 ? 2 : $#))

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DALBERTNER_BUILD_BENCH=ON -DALBERTNER_BUILD_TESTS=OFF \
  -DALBERTNER_BUILD_TOOLS=OFF -DALBERTNER_INSTALL=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target albertner_soak
"$build/bench/soak" "$model" --sentences "$sentences" --conll "$shared/data/conll2003/valid.txt" "$@"
