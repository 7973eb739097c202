#!/usr/bin/env bash
# Packaging check: install albertner into a scratch prefix and build three downstream programs:
#   1. find_package(albertner) against the installed prefix (CMAKE_PREFIX_PATH),
#   2. plain g++ with `pkg-config --cflags --libs albertner` (PKG_CONFIG_PATH),
#   3. add_subdirectory(<source tree>), no install,
#   4. the declarations-only mode (two files, one with the engine) against the installed prefix.
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

rm -rf "$root/project" "$prefix" "$root/find_package" "$root/pkg-config" "$root/add_subdirectory" "$root/declarations"

step "configure + install albertner into $prefix"
cmake -S "$src" -B "$root/project" -DCMAKE_BUILD_TYPE=Release \
  -DALBERTNER_BUILD_TESTS=OFF -DALBERTNER_BUILD_TOOLS=OFF -DALBERTNER_BUILD_BENCH=OFF -DALBERTNER_INSTALL=ON
cmake --build "$root/project" -j "$jobs"
cmake --install "$root/project" --prefix "$prefix"
for f in include/albertner/albertner.hpp share/cmake/albertner/albertnerConfig.cmake \
         share/cmake/albertner/albertnerConfigVersion.cmake share/cmake/albertner/albertnerTargets.cmake \
         share/pkgconfig/albertner.pc; do
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
