#!/usr/bin/env bash
# 1 thread against 2 (bench/threads.cpp): latency of one ~20-token sentence, idle and beside 1 and
# 2 busy processes, and tag_batch over the CoNLL test sentences; on the bundled model and on
# SHARED/golden/base converted (the ALBERT-base shape), with the fp32 peak of one core measured in
# the same run (SHARED/peers/peak/peak.c through bench/peak.c). With --ab, the same again from a
# build that splits every product over the threads however small (ALBERTNER_PARALLEL_MIN_WORK=0):
# the measurement behind the default threshold. One JSON line per measurement, tagged with the
# model and the build.
#
# Usage: bench/threads.sh [--runs 300] [--batch 8] [--ab] [--models bundled,base]
# Environment: SHARED (default ../shared beside the repository), JOBS (build jobs, default 2).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
shared=${SHARED:-$repo/../shared}
runs=300 ab=0 models=bundled,base batch=8
while (($#)); do
  case $1 in
  --runs) runs=$2; shift ;;
  --ab) ab=1 ;;
  --batch) batch=$2; shift ;;
  --models) models=$2; shift ;;
  *) sed -n '/^# Usage/,/^# Environment/p' "$0" >&2; exit 2 ;;
  esac
  shift
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build() { # DIR EXTRA_FLAGS
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG $2" -DALBERTNER_BUILD_BENCH=ON \
    -DALBERTNER_BUILD_TESTS=OFF -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_INSTALL=OFF >/dev/null
  cmake --build "$1" -j "${JOBS:-2}" --target albertner_bench_threads albertner_cli >/dev/null
}
build build-bench ""
builds=(build-bench)
if ((ab)); then
  build build-bench-split "-DALBERTNER_PARALLEL_MIN_WORK=0"
  builds+=(build-bench-split)
fi

gcc -O3 -march=native -Dmain=peak_c_main -c -o "$tmp/peak_c.o" "$shared/peers/peak/peak.c"
gcc -O3 -o "$tmp/peak" bench/peak.c "$tmp/peak_c.o"
"$tmp/peak" >"$tmp/peak.txt"
# peak.c prints "fp32 avx512 G GFLOP/s | fp32 avx2 G | ...": the best AVX-512 line, else AVX2.
peak=$(awk '$3 > b { b = $3 } END { print b + 0 }' "$tmp/peak.txt")
[[ $peak != 0 ]] || peak=$(awk '$8 > b { b = $8 } END { print b + 0 }' "$tmp/peak.txt")
echo "{\"bench\":\"peak\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\",\"fp32_gflops_one_core\":$peak}"

IFS=, read -ra model_list <<<"$models"
for m in "${model_list[@]}"; do
  case $m in
  bundled) file=models/albertner-conll03-small.safetensors ;;
  base)
    file=$tmp/base.safetensors
    build-bench/albertner convert "$shared/golden/base" -o "$file" 2>/dev/null ;;
  *) echo "threads.sh: unknown model $m (bundled or base)" >&2; exit 2 ;;
  esac
  for b in "${builds[@]}"; do
    "$b/bench/threads" "$file" --runs "$runs" --batch "$batch" --conll "$shared/data/conll2003/test.txt" --peak "$peak" |
      sed "s/^{/{\"model\":\"$m\",\"build\":\"$b\",/"
  done
done
