#!/usr/bin/env bash
# Trains albertner's bundled small CoNLL-2003 NER model from scratch and writes
# models/albertner-conll03-small.safetensors. One command, fixed seed (see README.md):
#   bash tools/train/train.sh [extra train.py options]
# Data: CONLL_DIR (default /work/shared/data/conll2003) with train.txt and valid.txt (IOB2).
# Threads: TRAIN_THREADS (default 1, as the shipped run; the numbers depend on the thread count).
set -euo pipefail
cd "$(dirname "$0")/../.."

# TRAIN_PREPARED=1 skips the install and the build (search.sh runs several train.sh at once after one build).
if [[ -z "${TRAIN_PREPARED:-}" ]]; then
  bash scripts/setup-deps.sh python3-torch libopenblas0-openmp python3-numpy sentencepiece
  start=$(date +%s)
  cmake -S . -B build-train -DCMAKE_BUILD_TYPE=Release -DALBERTNER_BUILD_TESTS=OFF >/dev/null
  cmake --build build-train -j2 --target albertner_cli
  echo "train.sh: CLI build took $(( $(date +%s) - start ))s"
fi

mkdir -p tools/train/out
exec /usr/bin/python3 tools/train/train.py \
  --data "${CONLL_DIR:-/work/shared/data/conll2003}" \
  --cli build-train/albertner \
  --out tools/train/out \
  --model-out models/albertner-conll03-small.safetensors \
  --threads "${TRAIN_THREADS:-1}" \
  "$@"
