"""Shared fixtures: the repository, the shared fixtures folder (skipped with one line when absent),
the CoNLL-2003 test sentences and the CLI's output on them."""
import json
import os
import shutil
import subprocess

import pytest

import albertner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shared_dir():
    return os.environ.get("ALBERTNER_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")


def conll_sentences(limit=None):
    """The CoNLL-2003 test sentences as texts (words joined by single spaces), in file order."""
    path = os.path.join(shared_dir(), "data", "conll2003", "test.txt")
    if not os.path.isfile(path):
        pytest.skip(f"skipped: {path} not found (set ALBERTNER_SHARED_DIR to the shared fixtures folder)")
    return albertner.conll_texts(path, limit)


def env_limit(name):
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


@pytest.fixture(scope="session")
def sentences():
    """ALBERTNER_PY_SENTENCES caps how many (default: all 3453)."""
    return conll_sentences(env_limit("ALBERTNER_PY_SENTENCES"))


def cli_path():
    candidates = [os.environ.get("ALBERTNER_CLI", "")] + [
        os.path.join(REPO, d, "albertner") for d in ("build-test", "build", "build-release")
    ] + [shutil.which("albertner") or ""]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="session")
def cli_entities(sentences):
    """`albertner tag --format jsonl` on the sentences: one entity list per sentence."""
    cli = cli_path()
    if cli is None:
        pytest.skip("skipped: the albertner CLI is not built (set ALBERTNER_CLI or build build-test/albertner)")
    stdin = "".join(json.dumps({"text": s}) + "\n" for s in sentences)
    env = dict(os.environ)
    env.pop("ALBERTNER_MODEL", None)
    run = subprocess.run([cli, "tag", os.path.join(REPO, "models", "albertner-conll03-small.safetensors"),
                          "--input-format", "jsonl", "--format", "jsonl"], input=stdin.encode(), capture_output=True, env=env, check=True)
    lines = run.stdout.decode().splitlines()
    assert len(lines) == len(sentences)
    out = []
    for line, text in zip(lines, sentences):
        row = json.loads(line)
        assert row["text"] == text
        out.append(row["entities"])
    return out


@pytest.fixture(scope="session")
def bundled_model():
    path = os.path.join(REPO, "models", "albertner-conll03-small.safetensors")
    assert os.path.isfile(path), path
    return path
