#!/usr/bin/env bash
# CLI soak: LINES JSON lines {"id": N, "text": SENTENCE} (the CoNLL-2003 validation sentences, repeated,
# generated on the fly so that the input never sits in memory or on disk) streamed through
# `albertner tag --input-format jsonl --format jsonl` into a counter. Prints the lines written, the wall
# time, lines/s and the tag process's peak RSS (GNU time's "Maximum resident set size"), and its RSS
# sampled every SAMPLE seconds while it runs, which must stay flat (model + workspace + buffers).
# Usage: bench/cli_soak.sh [LINES] [extra tag options, e.g. --threads 2]
# Environment: BUILD (default build; holds the albertner binary), SHARED (default ../shared beside the
# repository), MODEL (default: the bundled model), SAMPLE (default 10).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED:-$repo/../shared}
cli=${BUILD:-$repo/build}/albertner
model=${MODEL:-$repo/models/albertner-conll03-small.safetensors}
lines=${1:-1000000}
shift $(($# > 0 ? 1 : 0))
[ -x "$cli" ] || { echo "cli_soak: $cli not found (build the albertner_cli target)" >&2; exit 1; }
[ -f "$shared/data/conll2003/valid.txt" ] || { echo "cli_soak: $shared/data/conll2003/valid.txt not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "cli_soak: GNU time (/usr/bin/time) not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The sentences as JSON strings, once (3,250 of them).
python3 - "$shared/data/conll2003/valid.txt" > "$work/sentences" <<'PY'
import json, sys
words = []
for line in open(sys.argv[1], encoding="utf-8"):
    cols = line.split()
    if not cols or cols[0] == "-DOCSTART-":
        if words:
            print(json.dumps(" ".join(words)))
        words = []
    else:
        words.append(cols[0])
if words:
    print(json.dumps(" ".join(words)))
PY

generate() {
  awk -v n="$lines" 'NR == FNR { s[m++] = $0; next } END { for (i = 0; i < n; ++i) printf "{\"id\": %d, \"text\": %s}\n", i, s[i % m] }' \
    "$work/sentences" /dev/null
}

start=$(date +%s.%N)
generate | /usr/bin/time -v -o "$work/time" "$cli" tag -m "$model" --input-format jsonl --format jsonl --quiet "$@" |
  wc -l > "$work/count" &
pipeline=$!
# RSS samples of the tag process while it runs.
sleep 1
pid=$(pgrep -n -f -- "$cli tag -m $model" || true)
while kill -0 "$pipeline" 2> /dev/null; do
  if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
    awk -v t="$(date +%s)" '/^VmRSS/ { printf "rss %s kB at %s\n", $2, t }' "/proc/$pid/status" || true
  fi
  sleep "${SAMPLE:-10}"
done
wait "$pipeline"
end=$(date +%s.%N)
written=$(cat "$work/count")
peak=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
status=$(awk -F': ' '/Exit status/ { print $2 }' "$work/time")
awk -v n="$written" -v s="$start" -v e="$end" -v p="$peak" -v x="$status" -v want="$lines" 'BEGIN {
  printf "cli_soak: %d of %d lines written, exit %s, %.1f s, %.0f lines/s, peak RSS %.1f MB\n", n, want, x, e - s, n / (e - s), p / 1024
}'
[ "$written" = "$lines" ] && [ "$status" = 0 ]
