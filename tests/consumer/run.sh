#!/usr/bin/env bash
# Packaging check: install albertner into a scratch prefix and build six downstream programs:
#   1. find_package(albertner) against the installed prefix (CMAKE_PREFIX_PATH),
#   2. plain g++ with `pkg-config --cflags --libs albertner` (PKG_CONFIG_PATH),
#   3. the C API: examples/tag.c with plain `gcc -std=c99 -Wall -Wextra -Wpedantic -Werror` and
#      `pkg-config --cflags --libs albertner-c`, run on the bundled model,
#   4. the C API through find_package(albertner) and albertner::c (C99), run the same way,
#   5. add_subdirectory(<source tree>), no install,
#   6. the declarations-only mode (two files, one with the engine) against the installed prefix.
# Usage: tests/consumer/run.sh BUILD_ROOT   (everything is written under BUILD_ROOT; it is wiped first)
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
prefix="$root/prefix"

step() { printf '\n--- consumer: %s\n' "$*"; }

rm -rf "$root/project" "$prefix" "$root/find_package" "$root/pkg-config" "$root/add_subdirectory" \
  "$root/c-pkg-config" "$root/find_package_c" "$root/declarations"

step "configure + install albertner into $prefix"
cmake -S "$src" -B "$root/project" -DCMAKE_BUILD_TYPE=Release \
  -DALBERTNER_BUILD_TESTS=OFF -DALBERTNER_BUILD_TOOLS=OFF -DALBERTNER_BUILD_BENCH=OFF -DALBERTNER_INSTALL=ON
cmake --build "$root/project" -j "$jobs"
cmake --install "$root/project" --prefix "$prefix"
for f in include/albertner/albertner.hpp share/cmake/albertner/albertnerConfig.cmake \
         share/cmake/albertner/albertnerConfigVersion.cmake share/cmake/albertner/albertnerTargets.cmake \
         share/pkgconfig/albertner.pc include/albertner/albertner.h lib/libalbertner_c.a \
         share/pkgconfig/albertner-c.pc; do
  [ -f "$prefix/$f" ] || { echo "missing from the install: $f" >&2; exit 1; }
done

step "find_package(albertner) consumer"
cmake -S "$here/find_package" -B "$root/find_package" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
found=$(sed -n 's/^albertner_DIR:PATH=//p' "$root/find_package/CMakeCache.txt")
case "$found" in
  "$prefix"/*) echo "albertner_DIR = $found" ;;
  *) echo "find_package found albertner outside the scratch prefix: '$found'" >&2; exit 1 ;;
esac
cmake --build "$root/find_package" -j "$jobs"
"$root/find_package/consumer"

step "pkg-config consumer"
export PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags albertner)
libs=$(pkg-config --libs albertner)
echo "pkg-config --modversion albertner: $(pkg-config --modversion albertner)"
echo "pkg-config --cflags albertner: $cflags"
echo "pkg-config --libs albertner:   $libs"
# The .pc is relocatable (prefix=${pcfiledir}/../..): its -I must resolve to the scratch prefix.
# shellcheck disable=SC2086  # split the flags into words
inc=$(printf '%s\n' $cflags | sed -n 's/^-I//p' | head -n 1)
if [ -z "$inc" ] || [ "$(realpath "$inc")" != "$(realpath "$prefix/include")" ]; then
  echo "pkg-config --cflags does not point at $prefix/include (first -I: '$inc')" >&2
  exit 1
fi
mkdir -p "$root/pkg-config"
# shellcheck disable=SC2086  # word splitting of the flags is intended
${CXX:-c++} -std=c++17 -O1 $cflags "$here/find_package/main.cpp" -o "$root/pkg-config/consumer" $libs
"$root/pkg-config/consumer"

# The C example tags the bundled model; its first entity must be the sentence's first name.
model="$src/models/albertner-conll03-small.safetensors"
sentence="Peter Blackburn of the European Commission spoke in Brussels on Thursday."
check_c_tagging() { # PROGRAM
  local out
  out=$("$1" "$model" "$sentence")
  printf '%s\n' "$out"
  case "$(printf '%s\n' "$out" | head -n 1)" in
    PER*"[0, 15) Peter Blackburn") ;;
    *) echo "$1: expected 'PER ... [0, 15) Peter Blackburn' first" >&2; exit 1 ;;
  esac
  # A missing file is a status and a message with its path, exit 1, no crash.
  if "$1" "$root/no-such-model.safetensors" x 2>"$root/c-error.txt"; then
    echo "$1: a missing model file should fail" >&2; exit 1
  fi
  grep -F "no-such-model.safetensors" "$root/c-error.txt"
}

step "C API consumer: gcc -std=c99 + pkg-config albertner-c"
cflags_c=$(pkg-config --cflags albertner-c)
libs_c=$(pkg-config --libs albertner-c)
echo "pkg-config --cflags albertner-c: $cflags_c"
echo "pkg-config --libs albertner-c:   $libs_c"
mkdir -p "$root/c-pkg-config"
# shellcheck disable=SC2086  # word splitting of the flags is intended
${CC:-gcc} -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 $cflags_c "$src/examples/tag.c" \
  -o "$root/c-pkg-config/tag" $libs_c
check_c_tagging "$root/c-pkg-config/tag"

step "C API consumer: find_package(albertner) + albertner::c"
cmake -S "$here/find_package_c" -B "$root/find_package_c" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DALBERTNER_SOURCE_DIR="$src"
cmake --build "$root/find_package_c" -j "$jobs"
check_c_tagging "$root/find_package_c/consumer_c"

step "add_subdirectory(albertner) consumer"
cmake -S "$here/add_subdirectory" -B "$root/add_subdirectory" -DCMAKE_BUILD_TYPE=Release \
  -DALBERTNER_SOURCE_DIR="$src"
cmake --build "$root/add_subdirectory" -j "$jobs"
"$root/add_subdirectory/consumer"

step "declarations-only consumer (ALBERTNER_DECLARATIONS_ONLY + one ALBERTNER_IMPLEMENTATION file)"
cmake -S "$here/declarations" -B "$root/declarations" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
cmake --build "$root/declarations" -j "$jobs"
"$root/declarations/consumer" "$src/models/albertner-conll03-small.safetensors"

printf '\nconsumer: all packaging checks passed\n'
