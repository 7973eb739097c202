"""Builds albertner's Python package: the pybind11 extension over the header-only library in
../include, linked with sentencepiece and utf8proc, plus the bundled model copied into the package.

Install (offline, from the repository root, in a venv that sees Debian's packages):
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-build-isolation ./python
"""
import glob
import os
import shutil
import subprocess
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
INCLUDE = os.path.join(REPO, "include")
MODEL = os.path.join(REPO, "models", "albertner-conll03-small.safetensors")


def pkg_config(*args):
    """Flags from pkg-config, or an empty list when it or the module is absent."""
    try:
        out = subprocess.run(["pkg-config", *args], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return out.split()


def pybind11_include():
    for candidate in ("/usr/include", "/usr/local/include", sysconfig.get_paths()["include"]):
        if os.path.exists(os.path.join(candidate, "pybind11", "pybind11.h")):
            return candidate
    try:
        import pybind11  # a pip-installed pybind11 elsewhere

        return pybind11.get_include()
    except ImportError as e:
        raise SystemExit("pybind11 headers not found: install pybind11-dev (bash scripts/setup-deps.sh --python)") from e


if not os.path.isfile(os.path.join(INCLUDE, "albertner", "albertner.hpp")):
    raise SystemExit(f"albertner headers not found at {INCLUDE}: build from the repository (pip install ./python)")

cflags = pkg_config("--cflags", "sentencepiece", "libutf8proc", "eigen3") or ["-I/usr/include/eigen3"]
libs = pkg_config("--libs", "sentencepiece", "libutf8proc") or ["-lsentencepiece", "-lutf8proc"]

# Every header, so that an in-tree rebuild (python/build/) recompiles when the library changes.
headers = sorted(glob.glob(os.path.join(INCLUDE, "albertner", "**", "*.hpp"), recursive=True))

extension = Extension(
    "albertner._albertner",
    sources=[os.path.join("src", "module.cpp")],
    depends=headers,
    include_dirs=[INCLUDE, pybind11_include()],
    language="c++",
    extra_compile_args=["-std=c++17", "-O2", "-DNDEBUG", "-fvisibility=hidden", "-pthread", "-Wall", "-Wextra", "-Wpedantic"]
    + cflags,
    extra_link_args=["-pthread"] + libs,
)


class BuildPyWithModel(build_py):
    """Copies the bundled CoNLL-2003 model into the package (albertner/models/)."""

    def run(self):
        super().run()
        if os.path.isfile(MODEL):
            target = os.path.join(self.build_lib, "albertner", "models")
            os.makedirs(target, exist_ok=True)
            shutil.copyfile(MODEL, os.path.join(target, os.path.basename(MODEL)))


setup(
    name="albertner",
    version="0.1.0",
    description="ALBERT named-entity recognition: Python binding of the albertner C++ library, with Dask helpers",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["albertner"],
    ext_modules=[extension],
    cmdclass={"build_py": BuildPyWithModel},
    install_requires=["numpy"],
    extras_require={"dask": ["dask[bag,dataframe]", "distributed", "pandas"]},
    zip_safe=False,
)
