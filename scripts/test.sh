#!/usr/bin/env bash
# Every test: dependencies, a -Werror Release build of tests and tools into build-test/, CTest, the
# Python package (pip install ./python in a venv + pytest python/tests), the html
# output of `albertner tag` rendered in headless Chromium (tests/html/check.sh), the
# packaging checks (install + find_package, pkg-config, add_subdirectory, the C API with gcc -std=c99,
# the declarations-only mode), the embedded build (-fno-exceptions -fno-rtti, g++ and clang++, tagging
# from memory; ALBERTNER_NO_THREADS with the C API), the aarch64 cross build and its parity tests under
# qemu-aarch64 (build-aarch64/, scripts/cross.sh), the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and 30 s of each libFuzzer target
# (build-fuzz/), and the shared-Tagger test under ThreadSanitizer (build-tsan/). Ends with
# "N passed, M failed"; exits non-zero on any failure.
# SHARED overrides where the shared fixtures are (default: the folder `shared` beside the repository).
# Without them the checks that need them are skipped, each with one line saying why, unless
# ALBERTNER_REQUIRE_SHARED is set (.ci/run sets it): then a missing fixture is a failure.
# FUZZ_SECONDS: seconds per fuzz target (default 30; 0 skips the stage). ASAN=0 skips the sanitizer stage,
# TSAN=0 the ThreadSanitizer one, PYTHON=0 the Python stage, AARCH64=0 the aarch64 one (AARCH64_TESTS,
# see scripts/cross.sh, widens it).
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
skipped=0
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
skip() { # NAME REASON
  echo "skipped: $2"
  skipped=$((skipped + 1))
  report+=("SKIP  $1  ($2)")
}
began=$(date +%s)
banner() { printf '\n==== [%4d s] %s\n' "$(($(date +%s) - began))" "$*"; } # time since the start

have_shared=1
if [ ! -d "$SHARED/golden" ]; then
  have_shared=0
  echo "shared fixtures not found at $SHARED (set SHARED=/path/to/shared): the checks that need them skip"
  if [ -n "${ALBERTNER_REQUIRE_SHARED:-}" ] && [ "${ALBERTNER_REQUIRE_SHARED}" != 0 ]; then
    record "shared fixtures" 1 "$SHARED/golden not found, and ALBERTNER_REQUIRE_SHARED is set"
  fi
fi
no_shared="$SHARED/golden not found (set SHARED to the shared fixtures folder)"

banner "dependencies"
bash scripts/setup-deps.sh clang libclang-rt-14-dev # clang++ and libFuzzer: embedded and fuzz stages
record "dependencies (scripts/setup-deps.sh)" $?

banner "configure + build ($build, Release, -Werror)"
built=1
# The benchmarks are built too (not run): they must keep compiling, warning-free. -O2, not CMake's
# -O3 for Release: the tests time nothing, and -O3 takes a third longer to compile them.
if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
     -DALBERTNER_WERROR=ON -DALBERTNER_BUILD_BENCH=ON \
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
    # Test cases that skipped (a missing fixture, a CPU feature) passed the rest of their program:
    # list each reason once with its count.
    skips=$(grep -ho 'skipped: .*' "$build/Testing/Temporary/LastTest.log" 2>/dev/null | sort | uniq -c)
    note=""
    if [ -n "$skips" ]; then
      printf '\ntest cases skipped (count, reason):\n%s\n' "$skips"
      note="; $(awk '{n += $1} END {print n}' <<<"$skips") skip lines, reasons listed above"
    fi
    report+=("$([ "$ctest_rc" -eq 0 ] && echo PASS || echo FAIL)  ctest: $summary$note")
  else
    record "ctest (no summary line)" 1
  fi
else
  echo "not run: the build failed"
  record "ctest" 1 "not run: the build failed"
fi

banner "python: pip install --no-build-isolation ./python in a venv, pytest python/tests"
# The README's install (Debian's Python, a venv that sees Debian's packages) into $build/venv, then
# the API against this build's CLI, pickling, errors, threads and a two-process Dask LocalCluster.
# PYTHON=0 skips the stage.
case "$build" in /*) build_abs="$build" ;; *) build_abs="$repo/$build" ;; esac
if [ "${PYTHON:-1}" = 0 ]; then
  echo "skipped (PYTHON=0)"
elif [ "$have_shared" -eq 0 ]; then
  skip "python (pytest python/tests)" "$no_shared; the tests compare with the CLI on the CoNLL test sentences"
else
  start=$(date +%s)
  venv="$build_abs/venv"
  py_rc=1
  py_note="install failed"
  if bash scripts/setup-deps.sh --python && /usr/bin/python3 -m venv --system-site-packages "$venv" &&
     "$venv/bin/pip" install -q --no-build-isolation ./python; then
    installed_at=$(date +%s)
    (cd python/tests && ALBERTNER_CLI="$build_abs/albertner" ALBERTNER_SHARED_DIR="$SHARED" \
      "$venv/bin/python" -m pytest -q -p no:cacheprovider .) 2>&1 | tee "$build/pytest.log"
    py_rc=${PIPESTATUS[0]}
    py_note="$(grep -E '^[0-9]+ (passed|failed)' "$build/pytest.log" | tail -n 1 | sed -E 's/ in [0-9.]+s.*//')"
    py_note="${py_note:-no summary line}; install $((installed_at - start)) s, tests $(($(date +%s) - installed_at)) s"
  fi
  record "python (pip install ./python + pytest python/tests)" "$py_rc" "$py_note"
fi

banner "html: albertner tag --format html rendered in headless Chromium"
if [ "$have_shared" -eq 0 ]; then
  skip "html in headless Chromium (tests/html/check.sh)" "$no_shared"
elif [ "$built" -eq 0 ]; then
  bash scripts/setup-deps.sh chromium && SHARED="$SHARED" bash tests/html/check.sh "$build"
  record "html in headless Chromium (tests/html/check.sh)" $?
else
  echo "not run: the build failed"
  record "html in headless Chromium (tests/html/check.sh)" 1 "not run: the build failed"
fi

banner "packaging: install, find_package, pkg-config, add_subdirectory"
bash tests/consumer/run.sh "$build/consumer"
record "packaging (tests/consumer/run.sh)" $?

banner "embedded: -Os -fno-exceptions -fno-rtti -Werror, g++ and clang++"
ALBERTNER_CLI="$build/albertner" SHARED="$SHARED" bash tests/embedded/run.sh "$build/embedded" 2>&1 |
  tee "$build/embedded.log"
embedded_rc=${PIPESTATUS[0]}
note=""
if grep -q 'clang++ skipped' "$build/embedded.log"; then note="clang++ not installed: g++ only"; fi
record "embedded (tests/embedded/run.sh)" "$embedded_rc" "$note"

banner "aarch64: cross build (build-aarch64) and the parity tests under qemu-aarch64"
if [ "${AARCH64:-1}" = 0 ]; then
  echo "skipped (AARCH64=0)"
else
  # scripts/cross.sh installs the cross compiler and qemu-user, unpacks the arm64 packages of the
  # dependencies into build-aarch64/sysroot and runs the parity tests that fit in about 8 minutes on
  # 2 cores (AARCH64_TESTS=all adds the ALBERT-base ones, far longer), each with the default kernels
  # and with ALBERTNER_ISA=portable (README.md, "On ARM (aarch64)").
  start=$(date +%s)
  SHARED="$SHARED" JOBS="$jobs" bash scripts/cross.sh aarch64 test 2>&1 | tee "$build/aarch64.log"
  aarch64_rc=${PIPESTATUS[0]}
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$build/aarch64.log" | tail -n 1)
  record "aarch64 parity tests under qemu (scripts/cross.sh aarch64 test)" "$aarch64_rc" \
    "${summary:-no summary line}; $(($(date +%s) - start)) s with the build"
fi

banner "sanitizers: ASan + UBSan, whole suite (build-asan, Debug -O0)"
if [ "${ASAN:-1}" = 0 ]; then
  echo "skipped (ASAN=0)"
else
  asan=build-asan
  asan_flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  asan_exclude="*golden base*,*golden/base*,pipeline (*,*test F1 equals*,*a 1 MB text*"
  start=$(date +%s)
  asan_built=1
  # -g1 (line tables): reports keep file:line, the build takes a third less than with -g. -O0: the
  # build takes 45 % less than at -O1 (each test file compiles the library's inline code again,
  # over a minute a file at -O1), the tests about three times as long: minutes less in all.
  if cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
       -DCMAKE_CXX_FLAGS="$asan_flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
       -DALBERTNER_BUILD_TESTS=ON -DALBERTNER_BUILD_TOOLS=ON -DALBERTNER_SHARED_DIR="$SHARED"; then
    cmake --build "$asan" -j "$jobs"
    asan_built=$?
  fi
  built_at=$(date +%s)
  if [ "$asan_built" -eq 0 ]; then
    # Every error aborts (halt_on_error); leaks are errors too. The golden base-model cases and the
    # CoNLL test-set evaluation take minutes each under the sanitizers: they are skipped here and
    # run in the Release ctest above (docs/robustness.md). The CLI is built, so test_cli runs.
    # test_shared_tagger's 4 threads over the whole CoNLL test set take half an hour at -O0 under
    # ASan: 200 sentences here (all of them in the Release ctest, 300 under TSan below).
    (cd "$asan" && ALBERTNER_TEST_EXCLUDE="$asan_exclude" ALBERTNER_TEST_SENTENCES=200 \
      ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      ctest --output-on-failure -j2 --no-tests=error --timeout 1500) 2>&1 | tee "$asan/ctest.log"
    asan_rc=${PIPESTATUS[0]}
    summary=$(grep -E '^[0-9]+% tests passed' "$asan/ctest.log" | tail -n 1)
    record "asan+ubsan ctest" "$asan_rc" "${summary:-no summary line}; build $((built_at - start)) s, tests $(($(date +%s) - built_at)) s"
  else
    record "asan+ubsan build" 1
  fi
fi

banner "threads: ThreadSanitizer, one Tagger shared by 4 threads (build-tsan, clang++ -O1)"
if [ "${TSAN:-1}" = 0 ]; then
  echo "skipped (TSAN=0)"
elif [ "$have_shared" -eq 0 ]; then
  skip "tsan test_shared_tagger" "$no_shared; the test tags the CoNLL test sentences"
else
  tsan=build-tsan
  start=$(date +%s)
  tsan_built=1
  # Only the shared-Tagger test: its 4 threads run every path a shared Tagger has (the free list
  # of workspaces, the pool's part claiming, per-call options); the rest of the suite is
  # single-threaded and runs under ASan above. TSAN_SENTENCES caps the CoNLL sentences (default 300).
  if CXX=clang++ CC=clang cmake -S . -B "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
       -DALBERTNER_BUILD_TESTS=ON -DALBERTNER_BUILD_TOOLS=OFF -DALBERTNER_SHARED_DIR="$SHARED"; then
    cmake --build "$tsan" -j "$jobs" --target test_shared_tagger
    tsan_built=$?
  fi
  built_at=$(date +%s)
  if [ "$tsan_built" -eq 0 ]; then
    ALBERTNER_TEST_SENTENCES=${TSAN_SENTENCES:-300} TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
      "$tsan/tests/test_shared_tagger"
    record "tsan test_shared_tagger" $? "build $((built_at - start)) s, test $(($(date +%s) - built_at)) s"
  else
    record "tsan build" 1
  fi
fi

banner "fuzz: each libFuzzer target for ${FUZZ_SECONDS:-30} s (build-fuzz, clang++)"
if [ "${FUZZ_SECONDS:-30}" = 0 ]; then
  echo "skipped (FUZZ_SECONDS=0)"
elif [ "$have_shared" -eq 0 ]; then
  skip "fuzz (tests/fuzz/run.sh)" "$no_shared; the seeds and the tokenizer target read them"
else
  start=$(date +%s)
  BUILD=build-fuzz SHARED="$SHARED" JOBS="$jobs" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" 2>&1 | tee "$build/fuzz.log"
  fuzz_rc=${PIPESTATUS[0]}
  clean=$(grep '^PASS fuzz_' "$build/fuzz.log" | sort -u | wc -l)
  record "fuzz (tests/fuzz/run.sh ${FUZZ_SECONDS:-30})" "$fuzz_rc" "$(($(date +%s) - start)) s; $clean targets clean"
fi

banner "summary (total $(($(date +%s) - began)) s)"
printf '%s\n' "${report[@]}"
if [ "$skipped" -gt 0 ]; then echo "$skipped stage(s) skipped"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
