"""A Tagger pickles as its model path and options, and reopens where it is unpickled."""
import os
import pickle
import subprocess
import sys

import albertner


def test_a_pickled_tagger_is_small_and_reopens_with_its_options(bundled_model, sentences):
    tagger = albertner.Tagger(bundled_model, aggregation="first", threads=2, ignore_labels=["O", "MISC"], batch_size=4)
    data = pickle.dumps(tagger)
    assert len(data) < 1000  # the path and the options, not the weights
    copy = pickle.loads(data)
    assert copy.model_path == tagger.model_path and copy.options == tagger.options
    assert copy.aggregation == "first"
    assert copy(sentences[:40]) == tagger(sentences[:40])


def test_an_unset_aggregation_stays_unset_through_pickling(bundled_model):
    copy = pickle.loads(pickle.dumps(albertner.Tagger(bundled_model)))
    assert copy._args["aggregation"] is None and copy.aggregation == "first"  # the bundled model's recommendation


def test_another_process_unpickles_it_and_tags_alike(bundled_model, tmp_path):
    tagger = albertner.Tagger(bundled_model, aggregation="max")
    text = "Japan began the defence of their Asian Cup title with a win over Syria ."
    (tmp_path / "t.pickle").write_bytes(pickle.dumps(tagger))
    script = ("import pickle, sys, json; t = pickle.load(open(sys.argv[1], 'rb')); "
              "print(json.dumps(t(sys.argv[2])))")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "t.pickle"), text], capture_output=True,
                         check=True, text=True, cwd=str(tmp_path)).stdout
    import json
    expected = tagger(text)
    assert expected and json.loads(out) == json.loads(json.dumps(expected))


def test_the_reopened_file_is_memory_mapped(bundled_model):
    tagger = pickle.loads(pickle.dumps(albertner.Tagger(bundled_model)))
    tagger("Paris")
    with open("/proc/self/maps") as f:
        mapped = [line for line in f if line.rstrip().endswith(os.path.basename(bundled_model))]
    assert mapped, "the model file is not mapped"


def test_a_tagger_of_the_default_model_reopens_the_default_model_of_the_receiver(monkeypatch):
    monkeypatch.delenv("ALBERTNER_MODEL", raising=False)
    tagger = albertner.Tagger()
    assert pickle.loads(pickle.dumps(tagger)).model_path == tagger.model_path
    assert b"safetensors" not in pickle.dumps(tagger)  # no path: the receiver finds its own copy
    named = albertner.Tagger(tagger.model_path)
    assert tagger.model_path.encode() in pickle.dumps(named)
