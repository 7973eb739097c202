#!/usr/bin/env bash
# Installs albertner's build and test dependencies from Debian 12 (bookworm) packages.
# Idempotent: does nothing (not even apt-get update) when every package is already installed.
# Runs as root or through sudo. Extra package names may be given as arguments (e.g. clang).
# Why each package is needed: docs/dependencies.md.
set -euo pipefail

packages=(
  cmake g++ pkg-config       # build
  libeigen3-dev              # matrix products
  libsentencepiece-dev       # spiece.model
  libutf8proc-dev            # Unicode normalization for the tokenizer
  doctest-dev                # tests
  libbenchmark-dev           # bench/
  libcli11-dev               # tools/ (the albertner CLI) only
  "$@"
)

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=(env)
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env)
else
  echo "setup-deps: missing ${missing[*]}; run as root or install sudo" >&2
  exit 1
fi
echo "setup-deps: installing ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
