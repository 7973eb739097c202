#!/usr/bin/env bash
# Renders `albertner tag --format html` in headless Chromium (Debian package `chromium`) and checks the
# rendered DOM (tests/html/probe.js): `mark.entity` elements whose data-label, label tag and CSS background
# are there, every document's text unchanged once the label tags are left out, and every character shown
# with the label `--format jsonl` gives it; bidi safety (each document in its own direction, each entity inside a <bdi>
# that Chromium isolates; an Arabic document comes out right-to-left), and a legend with exactly the types
# marked on the page. The texts include an Arabic and a CJK line. Also writes a screenshot (page.png).
# Usage: tests/html/check.sh BUILD_DIR   (BUILD_DIR holds the albertner binary; output goes to BUILD_DIR/html-check)
# SHARED overrides where the shared fixtures are (default: the folder `shared` beside the repository);
# CHROMIUM overrides the browser command.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SHARED=${SHARED:-$repo/../shared}
build=$(cd "$1" && pwd)
cli="$build/albertner"
work="$build/html-check"

fail() {
  echo "html check: FAIL: $*" >&2
  exit 1
}

[ -x "$cli" ] || fail "$cli not found (build the albertner_cli target)"
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || fail "chromium not installed (Debian: bash scripts/setup-deps.sh chromium)"
fixture=
for f in base tiny; do
  if [ -d "$SHARED/golden/$f" ]; then
    fixture=$f
    break
  fi
done
[ -n "$fixture" ] || fail "$SHARED/golden/base not found; set SHARED to the shared fixtures folder"

rm -rf "$work"
mkdir -p "$work"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# Random weights (golden/base): most tokens come out as some entity, which is what this check needs.
"$cli" convert "$SHARED/golden/$fixture" -o "$work/model.safetensors" 2>"$work/convert.log" ||
  { cat "$work/convert.log" >&2; fail "convert golden/$fixture"; }
texts=(
  "George Washington went to Washington."
  "Angela Merkel met Emmanuel Macron in Paris on Tuesday."
  'Tom & Jerry <cartoon> said "hello" in Zürich, São Paulo and Αθήνα.'
  "التقى محمد بن سلمان مع إيمانويل ماكرون في باريس."
  "習近平在北京會見了安倍晉三。 東京 Tokyo 2020"
)
"$cli" tag -m "$work/model.safetensors" --format html "${texts[@]}" >"$work/page.html"
"$cli" tag -m "$work/model.safetensors" --format jsonl "${texts[@]}" >"$work/entities.jsonl"
expected=$(grep -o '"entity_group":' "$work/entities.jsonl" | wc -l)
[ "$expected" -gt 0 ] || fail "tag found no entities to render"

# A copy of the page with tests/html/probe.js at the end of <body>, after the entities as a JS array:
# the script reads the DOM Chromium built and writes what it found into <pre id="albertner-check">;
# --dump-dom prints the DOM after scripts ran.
page=$(<"$work/page.html")
[[ $page == *"</body></html>" ]] || fail "page.html does not end with </body></html>"
{
  printf '%s' "${page%</body></html>}"
  printf '<script>\nconst expected = [%s];\n' "$(paste -sd, "$work/entities.jsonl")"
  cat "$here/probe.js"
  printf '</script>\n</body></html>\n'
} >"$work/probe.html"

browser=("$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile")
timeout 120 "${browser[@]}" --dump-dom "file://$work/probe.html" >"$work/dom.html" 2>"$work/chromium.log" ||
  { tail -n 20 "$work/chromium.log" >&2; fail "chromium --dump-dom"; }
timeout 120 "${browser[@]}" --hide-scrollbars --window-size=1100,700 --screenshot="$work/page.png" \
  "file://$work/page.html" >>"$work/chromium.log" 2>&1 ||
  { tail -n 20 "$work/chromium.log" >&2; fail "chromium --screenshot"; }
[ -s "$work/page.png" ] || fail "no screenshot written"

# The probe's report, with the text escaping of the serialized DOM undone.
sed -n '/<pre id="albertner-check">/,/<\/pre>/p' "$work/dom.html" |
  sed -e 's/^.*<pre id="albertner-check">//' -e 's/<\/pre>.*$//' \
      -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&nbsp;/ /g' -e 's/&amp;/\&/g' >"$work/report.txt"
[ -s "$work/report.txt" ] || fail "the probe script left no report in the rendered DOM ($work/dom.html)"

if grep -q '^FAIL ' "$work/report.txt"; then
  sed -n 's/^FAIL /html check: FAIL: /p' "$work/report.txt" >&2
  exit 1
fi
docs=$(sed -n 's/^docs //p' "$work/report.txt")
marks=$(sed -n 's/^marks //p' "$work/report.txt")
all=$(sed -n 's/^all-marks //p' "$work/report.txt")
legend=$(sed -n 's/^legend //p' "$work/report.txt")
[ "$docs" = "${#texts[@]}" ] || fail "$docs documents rendered, ${#texts[@]} given"
[ "${marks:-0}" -gt 0 ] || fail "no mark.entity element rendered"
[ "$all" = "$marks" ] || fail "$all mark.entity elements in the page, $marks inside p.doc"
labels=$(sed -n 's/^labels //p' "$work/report.txt" | tr ',' '\n' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
echo "html check: $("$chromium" --version 2>/dev/null | head -n 1) rendered $marks entity marks ($labels) for $expected entities in $docs documents; text and labels match --format jsonl; every entity isolated (bdi), legend: $legend"
echo "html check: page $work/page.html, screenshot $work/page.png"
