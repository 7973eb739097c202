#!/usr/bin/env bash
# Builds and runs tests/embedded (-Os -fno-exceptions -fno-rtti -Wall -Wextra -Wpedantic -Werror)
# once with g++ and once with clang++. clang++ is optional: without it that half is reported as skipped.
# With the shared fixtures present, golden/tiny is first converted to a model file (with the albertner
# CLI when ALBERTNER_CLI names one or BUILD_ROOT/../albertner exists, else with embedded_convert,
# built here under the same flags), and each program then loads it from memory and tags a sentence.
# Usage: tests/embedded/run.sh BUILD_ROOT      (SHARED: the shared fixtures, default ../shared)
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
shared=${SHARED:-$src/../shared}
model="" # the converted golden tiny model, once made

# Converts golden/tiny into $root/tiny.safetensors with the CLI or with DIR/embedded_convert.
convert_tiny() { # DIR
  if [ ! -d "$shared/golden/tiny" ]; then
    echo "embedded: model part skipped ($shared/golden/tiny not found; set SHARED)"
    return 0
  fi
  local cli=${ALBERTNER_CLI:-$root/../albertner}
  if [ -x "$cli" ]; then
    echo "embedded: converting golden/tiny with $cli"
    "$cli" convert "$shared/golden/tiny" -o "$root/tiny.safetensors" >/dev/null
  else
    echo "embedded: converting golden/tiny with embedded_convert (no CLI at $cli)"
    "$1/embedded_convert" "$shared/golden/tiny" "$root/tiny.safetensors"
  fi
  model="$root/tiny.safetensors"
}

build_and_run() { # NAME COMPILER TARGET...
  local dir="$root/embedded-$1" compiler=$2
  shift 2
  printf '\n--- embedded: %s (%s)\n' "$(basename "$dir")" "$compiler"
  rm -rf "$dir"
  cmake -S "$here" -B "$dir" -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE= -DALBERTNER_SOURCE_DIR="$src"
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  if ! cmake --build "$dir" -j "$jobs" "${targets[@]}" -- VERBOSE=1 >"$dir/build.log" 2>&1; then
    cat "$dir/build.log"
    return 1
  fi
  grep -F -- '-fno-exceptions' "$dir/build.log" | grep -F 'main.cpp' # show the compile line
  if [ -z "$model" ] && [ -x "$dir/embedded_convert" ]; then convert_tiny "$dir"; fi
  if [ -n "$model" ]; then "$dir/embedded" "$model"; else "$dir/embedded"; fi
  size "$dir/embedded" 2>/dev/null || true
}

build_and_run gcc "${ALBERTNER_GXX:-g++}" embedded embedded_convert

# ALBERTNER_NO_THREADS: the program, the C API with examples/tag.c (C99) and test_c_api, built with
# g++; none may reference pthread_create (no thread is ever started), and each runs.
printf '\n--- embedded: no threads (ALBERTNER_NO_THREADS, %s)\n' "${ALBERTNER_GXX:-g++}"
dir="$root/embedded-no-threads"
rm -rf "$dir"
cmake -S "$here" -B "$dir" -DCMAKE_CXX_COMPILER="${ALBERTNER_GXX:-g++}" -DCMAKE_C_COMPILER="${ALBERTNER_GCC:-gcc}" \
  -DCMAKE_BUILD_TYPE= -DALBERTNER_SOURCE_DIR="$src" -DALBERTNER_EMBEDDED_NO_THREADS=ON \
  -DALBERTNER_EMBEDDED_SHARED_DIR="$shared" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
if ! cmake --build "$dir" -j "$jobs" --target embedded_no_threads embedded_tag_c embedded_test_c_api \
  -- VERBOSE=1 >"$dir/build.log" 2>&1; then
  cat "$dir/build.log"
  exit 1
fi
grep -F -- '-DALBERTNER_NO_THREADS' "$dir/build.log" | grep -F 'albertner_c.cpp' # show the compile line
for program in embedded_no_threads embedded_tag_c embedded_test_c_api; do
  if nm -u "$dir/$program" | grep -E 'pthread_create|std::thread'; then
    echo "embedded: $program references threads although built with ALBERTNER_NO_THREADS" >&2
    exit 1
  fi
done
echo "embedded: no pthread_create in embedded_no_threads, embedded_tag_c, embedded_test_c_api"
if [ -n "$model" ]; then "$dir/embedded_no_threads" "$model"; else "$dir/embedded_no_threads"; fi
bundled="$src/models/albertner-conll03-small.safetensors"
# No final full stop: under the bundled model's recommended aggregation (first) the whitespace word
# "Paris." would be the entity, as in Hugging Face's pipeline.
out=$("$dir/embedded_tag_c" "$bundled" "John lives in Paris")
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q '^LOC .*\[14, 19) Paris$' || { echo "embedded_tag_c: Paris is not LOC" >&2; exit 1; }
(cd "$dir" && ./embedded_test_c_api)
if command -v "${ALBERTNER_CLANGXX:-clang++}" >/dev/null 2>&1; then
  build_and_run clang "${ALBERTNER_CLANGXX:-clang++}" embedded
else
  echo "embedded: clang++ skipped (not installed; Debian: apt-get install clang)"
fi
printf '\nembedded: all builds passed\n'
