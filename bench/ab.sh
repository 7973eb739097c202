#!/usr/bin/env bash
# A/B of two builds of the albertner CLI on the golden ALBERT-base model: `albertner bench` (batch 1, one
# thread) of each, alternating A and B in every round so that both see the same machine noise, for each
# precision (the model converted by A with `convert --dtype`). Prints a table of medians over rounds
# and every round's B/A ratio; one JSON line per (round, side, precision, length) to --out.
# Also checks that both give the same logits, to the byte, on a few token sequences (`logits --hidden`).
#
# Usage: bench/ab.sh A_CLI B_CLI [--dtypes f32,bf16,int8] [--lens 16,128,512] [--rounds 4] [--runs 6]
#                    [--out bench/results/ab.jsonl]
# For example, the build of a commit before a change against the current one:
#   git worktree add /tmp/before HEAD~1 && cmake -S /tmp/before -B /tmp/before/build -DCMAKE_BUILD_TYPE=Release \
#     -DALBERTNER_BUILD_TOOLS=ON && cmake --build /tmp/before/build --target albertner_cli
#   bench/ab.sh /tmp/before/build/albertner build/albertner
# Environment: SHARED (default ../shared beside the repository); ALBERTNER_ISA applies to both sides.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED:-$repo/../shared}
(($# >= 2)) || { sed -n '/^# Usage/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
a=$1 b=$2
shift 2
dtypes=f32,bf16,int8 lens=16,128,512 rounds=4 runs=6 out=$repo/bench/results/ab.jsonl
while (($#)); do
  (($# >= 2)) || { echo "ab.sh: $1 needs a value" >&2; exit 2; }
  case $1 in
  --dtypes) dtypes=$2 ;;
  --lens) lens=$2 ;;
  --rounds) rounds=$2 ;;
  --runs) runs=$2 ;;
  --out) out=$2 ;;
  *) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -d "$shared/golden/base" ] || { echo "ab.sh: $shared/golden/base not found (set SHARED)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
: >"$out"

# Token ids of a few texts of 3 to 300 words (tile, panel and query-block edges).
printf '%s\n' "EU rejects German call to boycott British lamb ." \
  "$(printf 'Peter Blackburn said on Thursday that the European Commission in Brussels %.0s' {1..4})" \
  "$(printf 'the committee met in Geneva and Paris with officials of Germany and France %.0s' {1..25})" >"$tmp/texts"
IFS=, read -r -a dtype_list <<<"$dtypes"
for d in "${dtype_list[@]}"; do
  "$a" convert "$shared/golden/base" -o "$tmp/base-$d.safetensors" --dtype "$d" 2>"$tmp/convert.log" ||
    { cat "$tmp/convert.log" >&2; exit 1; }
  [ -s "$tmp/ids.jsonl" ] || "$a" tokenize -m "$tmp/base-$d.safetensors" <"$tmp/texts" >"$tmp/ids.jsonl"
  "$a" logits -m "$tmp/base-$d.safetensors" --hidden -i "$tmp/ids.jsonl" >"$tmp/a.json"
  "$b" logits -m "$tmp/base-$d.safetensors" --hidden -i "$tmp/ids.jsonl" >"$tmp/b.json"
  if cmp -s "$tmp/a.json" "$tmp/b.json"; then echo "$d: the same logits and hidden states, to the byte"
  else echo "$d: logits or hidden states DIFFER"; fi
done

for ((round = 1; round <= rounds; round++)); do
  for d in "${dtype_list[@]}"; do
    for side in A B; do
      cli=$a
      [ "$side" = B ] && cli=$b
      "$cli" bench -m "$tmp/base-$d.safetensors" --lens "$lens" --runs "$runs" --warmup 2 |
        sed "s/^{/{\"side\":\"$side\",\"dtype\":\"$d\",\"round\":$round,/" >>"$out"
    done
  done
done

python3 - "$out" <<'PY'
import json, statistics, sys
from collections import defaultdict
times = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    times[(r["dtype"], r["seq"], r["side"])].append(r["median_ms"])
print("| precision | T | A median (ms) | B median (ms) | B / A | B / A per round |")
print("|---|---:|---:|---:|---:|---|")
for (d, t) in sorted({(k[0], k[1]) for k in times}, key=lambda k: (k[0], k[1])):
    a, b = times[(d, t, "A")], times[(d, t, "B")]
    ratio = statistics.median(b) / statistics.median(a)
    rounds = " ".join(f"{y / x:.2f}" for x, y in zip(a, b))
    print(f"| {d} | {t} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | {ratio:.3f} | {rounds} |")
PY
