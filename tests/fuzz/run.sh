#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang++ (-fsanitize=fuzzer,address,undefined
# -fno-exceptions -fno-rtti), generates their seed corpora from the shared golden fixtures, and runs
# each target for SECONDS_PER_TARGET seconds (default 60), one after the other. Fails when a target
# crashes, leaks, times out or runs out of memory; the input that did it is left in BUILD/crashes/.
#
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]
# Environment: BUILD (default build-fuzz), SHARED (default ../shared beside the repository),
#   TARGETS (default: all six, e.g. TARGETS="json tokenizer"), CXX (default clang++),
#   FUZZ_FLAGS (extra libFuzzer flags, e.g. -jobs=2), JOBS (parallel compiles, default 1).
# The working corpus BUILD/corpus/<target> persists between runs; seeds are regenerated each time.
set -uo pipefail

seconds=${1:-60}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
build=${BUILD:-build-fuzz}
shared=$(cd "${SHARED:-$repo/../shared}" 2>/dev/null && pwd) || {
  echo "fuzz: shared fixtures not found (${SHARED:-$repo/../shared}); set SHARED" >&2
  exit 1
}
targets=${TARGETS:-safetensors torch_bin json tokenizer cli_json c_api}
cxx=${CXX:-clang++}
jobs=${JOBS:-1}
mkdir -p "$build"/{bin,seeds,corpus,crashes,logs}
build=$(cd "$build" && pwd)

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found (Debian: bash scripts/setup-deps.sh clang libclang-rt-14-dev)" >&2
  exit 1
fi
deps=$(pkg-config --cflags eigen3 sentencepiece libutf8proc) || exit 1
libs="$(pkg-config --libs sentencepiece libutf8proc) -lpthread"
common=(-std=c++17 -g1 -O1 -Iinclude $deps "-DALBERTNER_SHARED_DIR=\"$shared\"")
sanitize=(-fno-exceptions -fno-rtti -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer)

# Rebuilds BIN from SRC when a header or the source is newer than it.
stale() { # BIN SRC
  [ ! -x "$1" ] || [ -n "$(find include src tests/fuzz tests/*.hpp tools/albertner/logits_input.hpp -newer "$1" -print -quit)" ]
}

echo "fuzz: building into $build/bin with $($cxx --version | head -n 1)"
if stale "$build/bin/make_seeds" tests/fuzz/make_seeds.cpp; then
  "$cxx" "${common[@]}" tests/fuzz/make_seeds.cpp -o "$build/bin/make_seeds" $libs || exit 1
fi
pids=()
for t in $targets; do
  if stale "$build/bin/fuzz_$t" "tests/fuzz/fuzz_$t.cpp"; then
    echo "fuzz: compiling fuzz_$t"
    sources=("tests/fuzz/fuzz_$t.cpp")
    [ "$t" = c_api ] && sources+=(src/albertner_c.cpp) # the C API's one implementation file
    "$cxx" "${common[@]}" "${sanitize[@]}" "${sources[@]}" -o "$build/bin/fuzz_$t" $libs &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}" || exit 1; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p" || exit 1; done

rm -rf "$build/seeds"
"$build/bin/make_seeds" "$shared" "$build/seeds" || exit 1

failed=0
summary=()
for t in $targets; do
  mkdir -p "$build/corpus/$t" "$build/seeds/$t"
  extra=()
  case $t in
  safetensors | torch_bin | c_api) extra=(-max_len=3000000) ;; # the golden files (2-3 MB) must load whole
  esac
  log="$build/logs/$t.log"
  echo "fuzz: fuzz_$t for ${seconds}s (log: $log)"
  # shellcheck disable=SC2086
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$t-" "${extra[@]}" ${FUZZ_FLAGS:-} \
    "$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1
  rc=$?
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  corp=$(find "$build/corpus/$t" -type f | wc -l)
  line="fuzz_$t: ${seconds}s, ${execs:-?} executions, ${cov:-no coverage line}, corpus $corp"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    line="FAIL $line (exit $rc)"
    # The lines a crash printed before libFuzzer's report (an abort's own message), the report
    # with its stack, and where the input went; not the progress lines.
    grep -E -B4 -A30 'ERROR: ' "$log" | grep -vE '^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]' | head -n 45
    grep -E 'Test unit written' "$log" | head -n 1
  else
    line="PASS $line"
  fi
  summary+=("$line")
  echo "$line"
done

printf '\n'
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
