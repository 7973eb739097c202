#!/usr/bin/env bash
# What including albertner costs a file: g++ -O2 -c wall time and peak compiler memory (max RSS)
# of three files, written here, compiled one after the other, RUNS times each (the median):
#   eigen.cpp  includes <Eigen/Dense> and multiplies two matrices: the library albertner builds on;
#   tag.cpp    includes <albertner/albertner.hpp> and calls Tagger::open + tag (the default, header-only);
#   decl.cpp   the same code compiled with ALBERTNER_DECLARATIONS_ONLY (the opt-in mode in which one
#              other file, with ALBERTNER_IMPLEMENTATION, holds the engine).
# Prints each file's seconds and MB and the ratios against eigen.cpp (targets: tag ≤ 2×, decl ≤ 0.5×).
#
# Usage: bench/compile_cost.sh [RUNS]   (default 3)   Environment: CXX (default g++).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-3}
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/eigen.cpp" <<'CPP'
#include <Eigen/Dense>
#include <cstdio>
int main() {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(64, 64), b = Eigen::MatrixXf::Random(64, 64);
  Eigen::MatrixXf c = a * b;
  std::printf("%f\n", static_cast<double>(c.sum()));
  return 0;
}
CPP
cat >"$tmp/tag.cpp" <<'CPP'
#include <albertner/albertner.hpp>
#include <cstdio>
int main(int argc, char** argv) {
  auto tagger = albertner::Tagger<>::open(argc > 1 ? argv[1] : "model.safetensors");
  if (!tagger.ok()) return 1;
  auto entities = tagger->tag("Angela Merkel visited Paris.");
  if (!entities.ok()) return 1;
  for (const albertner::Entity& e : *entities) std::printf("%s %s\n", e.label.c_str(), e.text.c_str());
  return 0;
}
CPP
cp "$tmp/tag.cpp" "$tmp/decl.cpp"

eigen_inc=$(pkg-config --cflags eigen3 2>/dev/null || echo -I/usr/include/eigen3)
measure() { # FILE EXTRA_FLAGS... -> "seconds megabytes cpu_seconds" (the median of each)
  local file=$1
  shift
  : >"$tmp/runs"
  for ((r = 0; r < runs; r++)); do
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$cxx" -std=c++17 -O2 -I"$repo/include" $eigen_inc "$@" \
      -c "$tmp/$file" -o "$tmp/out.o"
    cat "$tmp/time" >>"$tmp/runs"
  done
  median() { awk "{ print $1 }" "$tmp/runs" | sort -g | sed -n "$(((runs + 1) / 2))p"; }
  echo "$(median '$1') $(median '$2 / 1024') $(median '$3 + $4')"
}
read -r e_s e_mb e_cpu < <(measure eigen.cpp)
read -r t_s t_mb t_cpu < <(measure tag.cpp)
read -r d_s d_mb d_cpu < <(measure decl.cpp -DALBERTNER_DECLARATIONS_ONLY)
echo "compile cost, $cxx -O2 -c, median of $runs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# Wall time is the target's measure; CPU time (user + sys) says whether another process got in the way.
printf '%-10s %8s %8s %8s %10s %10s %10s\n' file wall_s cpu_s MB 'wall/eigen' 'cpu/eigen' 'mem/eigen'
row() {
  awk -v f="$1" -v s="$2" -v c="$3" -v m="$4" -v es="$e_s" -v ec="$e_cpu" -v em="$e_mb" \
    'BEGIN { printf "%-10s %8.2f %8.2f %8.0f %10.2f %10.2f %10.2f\n", f, s, c, m, s / es, c / ec, m / em }'
}
row eigen.cpp "$e_s" "$e_cpu" "$e_mb"
row tag.cpp "$t_s" "$t_cpu" "$t_mb"
row decl.cpp "$d_s" "$d_cpu" "$d_mb"
