#!/usr/bin/env bash
# Cross build for 64-bit ARM and its tests under user-mode emulation (qemu-aarch64).
#
#   scripts/cross.sh aarch64 [build]      install what is missing, then build the CLI, the example and
#                                         the parity tests into build-aarch64/
#   scripts/cross.sh aarch64 run -- ARGS  run the cross-built CLI under qemu-aarch64 with ARGS; stdin and
#                                         stdout pass through, its exit code is returned
#   scripts/cross.sh aarch64 test         build, then run the parity tests (AARCH64_TESTS below) under
#                                         qemu-aarch64, each with the default kernels and with
#                                         ALBERTNER_ISA=portable, timed; ends with "N passed, M failed",
#                                         non-zero on any failure
#   scripts/cross.sh aarch64 size         examples/tag.cpp built at -Os -fno-exceptions -fno-rtti and
#                                         stripped, for aarch64 and for the host: bytes of each, and the
#                                         aarch64 one run under qemu on the bundled model
#
# Host packages (amd64): g++-aarch64-linux-gnu, qemu-user (through scripts/setup-deps.sh, root or sudo).
# The dependencies' arm64 packages (sentencepiece, utf8proc; Eigen, doctest and CLI11 are
# architecture-independent) are fetched with `apt-get download` against a private copy of the arm64
# package lists (build-aarch64/apt) and unpacked with `dpkg-deb -x` into build-aarch64/sysroot: dpkg's
# foreign architectures and the host's amd64 packages are never touched (libsentencepiece-dev is not
# Multi-Arch: same, so its arm64 package cannot sit beside the amd64 one). The CMake toolchain file is
# cmake/aarch64-linux-gnu.cmake.
#
# SHARED: the shared fixtures (default ../shared beside the repository). Without them the parity tests
# skip their fixture cases with one line each, or fail where ALBERTNER_REQUIRE_SHARED is set.
# BUILD_DIR: the build folder (default build-aarch64). JOBS: parallel compile jobs (default nproc).
# AARCH64_TESTS: which tests `test` runs. "parity" (default; also scripts/test.sh's stage, which must
# fit in about 8 minutes on 2 cores: the tests took 1 to 2.5 minutes, a fresh cross build about 6 more):
# test_tokenizer (Hugging Face's tokens and offsets), test_span_decoder (the golden pipeline's entities,
# all five strategies, from its stored logits), test_bundled_model (text to entities end to end, 1 and
# 2 threads) and test_encoder without its golden base-model case (golden tiny, every stage, and the
# synthetic checks); "all" adds that case and test_pipeline (the golden pipeline end to end on
# golden/base): far too slow under emulation for CI (over 15 minutes each).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 1 ] || usage
arch=$1
shift
if [ "$arch" != aarch64 ]; then
  echo "cross.sh: unknown architecture '$arch' (known: aarch64)" >&2
  exit 2
fi
cmd=${1:-build}
[ $# -gt 0 ] && shift

build=${BUILD_DIR:-$repo/build-aarch64}
mkdir -p "$build"
build=$(cd "$build" && pwd)
sysroot=$build/sysroot
shared=${SHARED:-$repo/../shared}
jobs=${JOBS:-$(nproc)}
triple=aarch64-linux-gnu
qemu=(qemu-aarch64 -L /usr/$triple -E "LD_LIBRARY_PATH=$sysroot/usr/lib/$triple")

# --- install --------------------------------------------------------------------------------------
arm64_packages=(libsentencepiece-dev libsentencepiece0 libutf8proc-dev libutf8proc2
                libeigen3-dev doctest-dev libcli11-dev)

install_host_tools() {
  if command -v $triple-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then return 0; fi
  bash "$repo/scripts/setup-deps.sh" g++-$triple qemu-user
}

install_sysroot() {
  local stamp=$sysroot/.packages
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${arm64_packages[*]}" ]; then return 0; fi
  echo "cross.sh: fetching arm64 packages: ${arm64_packages[*]}"
  local apt=$build/apt
  rm -rf "$apt" "$sysroot"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$sysroot"
  : >"$apt/status"
  # The host's sources, arm64 only, with lists, cache and (empty) package status of our own: the host's
  # apt state is not read or written, and no lock of the host's is taken.
  local opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
              -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status"
              -o Dir::Cache="$apt/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -qq update
  (cd "$apt/debs" && apt-get "${opts[@]}" -qq download "${arm64_packages[@]}")
  for deb in "$apt/debs"/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  printf '%s' "${arm64_packages[*]}" >"$stamp"
}

# --- build ----------------------------------------------------------------------------------------
parity_programs=(test_tokenizer test_span_decoder test_bundled_model test_encoder)
build_targets() {
  install_host_tools
  install_sysroot
  local targets=(albertner_cli albertner_example_tag "${parity_programs[@]}")
  if [ "${AARCH64_TESTS:-parity}" = all ]; then targets+=(test_pipeline); fi
  # -O2 as in scripts/test.sh. The tests find the shared fixtures through the same path as on the host:
  # qemu-user runs the programs on the host's file system.
  cmake -S "$repo" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/aarch64-linux-gnu.cmake" \
    -DALBERTNER_AARCH64_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DALBERTNER_WERROR=ON -DALBERTNER_BUILD_TESTS=ON \
    -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_INSTALL=OFF -DALBERTNER_SHARED_DIR="$shared" >/dev/null
  local t args=()
  for t in "${targets[@]}"; do args+=(--target "$t"); done
  cmake --build "$build" -j "$jobs" "${args[@]}"
  if command -v file >/dev/null; then file "$build/albertner" | sed "s|$build/||"; fi
}

# --- run ------------------------------------------------------------------------------------------
run_cli() {
  [ "${1:-}" = -- ] && shift
  if [ ! -x "$build/albertner" ]; then
    echo "cross.sh: $build/albertner not built; run: scripts/cross.sh aarch64" >&2
    exit 1
  fi
  exec "${qemu[@]}" "$build/albertner" "$@"
}

# --- test -----------------------------------------------------------------------------------------
# Each entry: PROGRAM|TEST CASES TO EXCLUDE (doctest wildcards, ALBERTNER_TEST_EXCLUDE)|ISA RUNS.
# ALBERT-base (12 layers at hidden size 768) runs at a fraction of a GFLOP/s under emulation: the
# golden base case of test_encoder (5 inputs, 473 tokens) did not finish in 10 minutes, nor did
# test_pipeline's first 60 texts in 15 (docs/benchmarks.md, "aarch64").
parity_tests() {
  local both="default portable"
  case ${AARCH64_TESTS:-parity} in
    parity) printf '%s\n' "test_tokenizer||$both" "test_span_decoder||$both" "test_bundled_model||$both" \
                          "test_encoder|*golden base*|$both" ;;
    all) printf '%s\n' "test_tokenizer||$both" "test_span_decoder||$both" "test_bundled_model||$both" \
                       "test_encoder||$both" "test_pipeline||$both" ;;
    *) echo "cross.sh: AARCH64_TESTS=${AARCH64_TESTS} is not one of parity, all" >&2; return 1 ;;
  esac
}

run_tests() {
  parity_tests >/dev/null || exit 2
  build_targets
  local passed=0 failed=0 report=() entry program exclude isas isa times rc seconds
  local timeout=${AARCH64_TEST_TIMEOUT:-900}
  while IFS= read -r entry; do
    IFS='|' read -r program exclude isas <<<"$entry"
    for isa in $isas; do
      printf '\n--- %s under qemu-aarch64, ALBERTNER_ISA=%s%s\n' "$program" "$isa" \
        "${exclude:+ (excluded: $exclude)}"
      # Wall and CPU seconds (user + system of qemu and the program's threads): on a busy machine
      # the CPU time says more.
      set +e
      times=$( { TIMEFORMAT='%R %U %S'; time (cd "$build/tests" && env ${exclude:+ALBERTNER_TEST_EXCLUDE="$exclude"} \
        $([ "$isa" = portable ] && echo ALBERTNER_ISA=portable) \
        timeout "$timeout" "${qemu[@]}" "$build/tests/$program" --duration=true >&3 2>&3); } 2>&1)
      rc=$?
      set -e
      seconds=$(awk '{printf "%.0f s wall, %.0f s CPU", $1, $2 + $3}' <<<"$times")
      if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        report+=("PASS  $program ($isa)  $seconds")
      else
        failed=$((failed + 1))
        report+=("FAIL  $program ($isa)  $seconds, exit $rc$([ $rc -eq 124 ] && echo ": timed out after $timeout s")")
      fi
    done
  done 3>&1 < <(parity_tests)
  printf '\n==== aarch64 parity tests under qemu-aarch64\n'
  printf '%s\n' "${report[@]}"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# --- size -----------------------------------------------------------------------------------------
# A minimal tagging program: examples/tag.cpp alone, -Os, no exceptions, no RTTI, stripped; linked
# dynamically against libstdc++, sentencepiece and utf8proc like any Debian program (their sizes are
# printed too). The same for the host compiler, for comparison.
size_tag() {
  install_host_tools
  install_sysroot
  local out=$build/size flags=(-std=c++17 -Os -DNDEBUG -fno-exceptions -fno-rtti -Wall -Wextra -Wpedantic -Werror)
  mkdir -p "$out"
  $triple-g++ "${flags[@]}" -I"$repo/include" -I"$sysroot/usr/include/eigen3" -I"$sysroot/usr/include" \
    "$repo/examples/tag.cpp" -o "$out/tag-aarch64" -L"$sysroot/usr/lib/$triple" -lsentencepiece -lutf8proc -pthread
  $triple-strip "$out/tag-aarch64"
  g++ "${flags[@]}" -I"$repo/include" $(pkg-config --cflags eigen3 sentencepiece libutf8proc) \
    "$repo/examples/tag.cpp" -o "$out/tag-x86_64" $(pkg-config --libs sentencepiece libutf8proc) -pthread
  strip "$out/tag-x86_64"
  echo "stripped -Os examples/tag.cpp: aarch64 $(stat -c %s "$out/tag-aarch64") bytes, host ($(uname -m)) $(stat -c %s "$out/tag-x86_64") bytes"
  echo "shared libraries it needs (aarch64, not stripped further):"
  local lib
  for lib in libsentencepiece.so.0 libutf8proc.so.2; do
    echo "  $lib $(stat -L -c %s "$sysroot/usr/lib/$triple/$lib") bytes"
  done
  echo "  libstdc++.so.6 $(stat -L -c %s /usr/$triple/lib/libstdc++.so.6) bytes"
  "${qemu[@]}" "$out/tag-aarch64" "$repo/models/albertner-conll03-small.safetensors" \
    "EU rejects German call to boycott British lamb ."
}

case $cmd in
  build) build_targets ;;
  run) run_cli "$@" ;;
  test) run_tests ;;
  size) size_tag ;;
  *) usage ;;
esac
