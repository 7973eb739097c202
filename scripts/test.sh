#!/usr/bin/env bash
# Every test: dependencies, a -Werror Release build of tests and tools into build-test/, CTest, the
# packaging checks (install + find_package, pkg-config, add_subdirectory) and the embedded build
# (-fno-exceptions -fno-rtti, g++ and clang++). Ends with "N passed, M failed"; exits non-zero on any failure.
# SHARED overrides where the shared fixtures are (default: the folder `shared` beside the repository).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
SHARED=${SHARED:-$repo/../shared}
build=${BUILD_DIR:-build-test} # BUILD_DIR: another build folder
mkdir -p "$build"
jobs=$(nproc)
export JOBS=$jobs

passed=0
failed=0
report=()
record() { # NAME STATUS [DETAIL]
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
    report+=("PASS  $1${3:+  ($3)}")
  else
    failed=$((failed + 1))
    report+=("FAIL  $1${3:+  ($3)}")
  fi
}
banner() { printf '\n==== %s\n' "$*"; }

banner "dependencies"
bash scripts/setup-deps.sh
record "dependencies (scripts/setup-deps.sh)" $?

banner "configure + build ($build, Release, -Werror)"
built=1
if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DALBERTNER_WERROR=ON \
     -DALBERTNER_BUILD_TESTS=ON -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_SHARED_DIR="$SHARED"; then
  cmake --build "$build" -j "$jobs"
  built=$?
fi
record "build" $built

banner "ctest"
if [ "$built" -eq 0 ]; then
  (cd "$build" && ctest --output-on-failure -j2 --no-tests=error --timeout 1500) 2>&1 | tee "$build/ctest.log"
  ctest_rc=${PIPESTATUS[0]}
  # "100% tests passed, 0 tests failed out of 12": count each test.
  summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$build/ctest.log" | tail -n 1)
  if [ -n "$summary" ]; then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
    bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
    if [ "$ctest_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); fi
    report+=("$([ "$ctest_rc" -eq 0 ] && echo PASS || echo FAIL)  ctest: $summary")
  else
    record "ctest (no summary line)" 1
  fi
else
  echo "not run: the build failed"
  record "ctest" 1 "not run: the build failed"
fi

banner "packaging: install, find_package, pkg-config, add_subdirectory"
bash tests/consumer/run.sh "$build/consumer"
record "packaging (tests/consumer/run.sh)" $?

banner "embedded: -Os -fno-exceptions -fno-rtti -Werror, g++ and clang++"
bash tests/embedded/run.sh "$build/embedded" 2>&1 | tee "$build/embedded.log"
embedded_rc=${PIPESTATUS[0]}
note=""
if grep -q 'clang++ skipped' "$build/embedded.log"; then note="clang++ not installed: g++ only"; fi
record "embedded (tests/embedded/run.sh)" "$embedded_rc" "$note"

banner "summary"
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
