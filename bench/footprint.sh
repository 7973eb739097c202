#!/usr/bin/env bash
# Footprint on this machine (x86-64): the stripped -Os size of a minimal tagging program in C++
# (examples/tag.cpp) and in C (examples/tag.c over the C API, src/albertner_c.cpp), and the memory of
# tagging 128 tokens for fp32, bf16 and int8 files converted from SHARED/golden/base
# (bench/footprint.cpp). Prints the two markdown tables of docs/benchmarks.md's "Footprint".
# Usage: bench/footprint.sh            Environment: SHARED (default ../shared), BUILD (default
# build-footprint), CXX (default g++), CC (default gcc), DTYPES (default "f32 bf16 int8").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
shared=${SHARED:-$repo/../shared}
build=${BUILD:-build-footprint}
cxx=${CXX:-g++}
cc=${CC:-gcc}
mkdir -p "$build"
build=$(cd "$build" && pwd)
[ -d "$shared/golden/base" ] || { echo "footprint: $shared/golden/base not found; set SHARED" >&2; exit 1; }

deps=$(pkg-config --cflags eigen3 sentencepiece libutf8proc)
libs="$(pkg-config --libs sentencepiece libutf8proc) -pthread"
small=(-Os -fno-exceptions -fno-rtti -DNDEBUG)

# shellcheck disable=SC2086  # the flag lists are split into words
{
  $cxx -std=c++17 "${small[@]}" -Iinclude $deps examples/tag.cpp -o "$build/tag-cpp" $libs
  $cxx -std=c++17 "${small[@]}" -Iinclude $deps -c src/albertner_c.cpp -o "$build/albertner_c.o"
  ar rcs "$build/libalbertner_c.a" "$build/albertner_c.o"
  $cc -std=c99 -Os -DNDEBUG -Iinclude -c examples/tag.c -o "$build/tag-c.o"
  $cxx "$build/tag-c.o" -o "$build/tag-c" -L"$build" -lalbertner_c $libs
  $cxx -std=c++17 -O2 -DNDEBUG -Iinclude $deps bench/footprint.cpp -o "$build/footprint" $libs
}
strip -s "$build/tag-cpp" "$build/tag-c"
model_small=models/albertner-conll03-small.safetensors
"$build/tag-cpp" "$model_small" "John lives in Paris." >/dev/null
"$build/tag-c" "$model_small" "John lives in Paris." >/dev/null

echo "| program | stripped size (bytes) | text | data + bss |"
echo "|---|---:|---:|---:|"
for p in tag-cpp tag-c; do
  read -r text data bss _ < <(size "$build/$p" | tail -n 1)
  echo "| $p | $(stat -c %s "$build/$p") | $text | $((data + bss)) |"
done
echo
echo "shared libraries of both (not counted above): $(ldd "$build/tag-c" | awk '{print $1}' | grep -vE 'linux-vdso|ld-linux' | tr '\n' ' ')"
echo

echo "| model file | file (kB) | model pages resident (kB) | anon. after open (kB) | workspace, 1×128 (kB) | anon. growth while tagging (kB) | VmHWM (kB) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for d in ${DTYPES:-f32 bf16 int8}; do
  f="$build/base-$d.safetensors"
  [ -f "$f" ] || "$build/footprint" convert "$shared/golden/base" "$f" "$d"
  "$build/footprint" measure "$f" 2>>"$build/footprint.log"
done
echo
echo "What can be left out: the tokenizer (ids from elsewhere: measure-ids, the encoder alone) and the packed"
echo "copy of the weights (ALBERTNER_ISA=portable: Eigen on the file's weights in place, several times slower)."
echo
echo "| variant | file (kB) | model pages resident (kB) | anon. after open (kB) | workspace, 1×128 (kB) | anon. growth while tagging (kB) | VmHWM (kB) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for d in ${DTYPES:-f32 bf16 int8}; do
  f="$build/base-$d.safetensors"
  "$build/footprint" measure-ids "$f" 2>>"$build/footprint.log"
  ALBERTNER_ISA=portable "$build/footprint" measure "$f" 2>>"$build/footprint.log" | sed 's/^| \([^|]*\) |/| \1, weights in place (portable) |/'
done
echo
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $($cxx --version | head -n 1)"
