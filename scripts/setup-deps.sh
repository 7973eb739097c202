#!/usr/bin/env bash
# Installs albertner's build and test dependencies from Debian 12 (bookworm) packages.
# Idempotent: does nothing (not even apt-get update) when every package is already installed.
# Runs as root or through sudo. Extra package names may be given as arguments (e.g. clang).
# --python adds what the Python package (python/) and its tests need: Debian's Python 3.11 headers,
# venv, pytest, pybind11, NumPy, pandas, Dask and distributed.
# Why each package is needed: docs/dependencies.md.
set -euo pipefail

python_packages=(python3-dev python3-venv python3-setuptools python3-wheel python3-pytest pybind11-dev python3-numpy python3-pandas python3-dask
  python3-distributed)
extra=()
for arg in "$@"; do
  if [ "$arg" = --python ]; then extra+=("${python_packages[@]}"); else extra+=("$arg"); fi
done
set -- ${extra[@]+"${extra[@]}"}

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
