"""The Python API gives what the CLI gives, with Hugging Face's pipeline keys."""
import json
import os
import pickle
import subprocess

import numpy as np
import pytest

import albertner
from conftest import REPO, cli_path, conll_sentences, shared_dir
from helpers import same_entities


@pytest.fixture(scope="module")
def tagger(bundled_model):
    return albertner.Tagger(bundled_model)


def test_entities_of_the_conll_test_sentences_equal_the_clis(tagger, sentences, cli_entities):
    got = tagger(sentences)
    assert len(got) == len(sentences)
    differing = [i for i, (p, c) in enumerate(zip(got, cli_entities)) if not same_entities(p, c)]
    assert differing == [], f"sentence {differing[0]}: {got[differing[0]]} != {cli_entities[differing[0]]}"
    assert sum(len(e) for e in got) > 1000  # not vacuous: the model finds entities


def test_one_text_gives_one_list_and_a_list_gives_a_list_of_lists(tagger, sentences):
    texts = sentences[:20]
    batch = tagger(texts)
    assert [tagger(t) for t in texts] == batch
    assert tagger(tuple(texts)) == batch
    assert tagger(iter(texts)) == batch
    assert tagger([]) == []


def test_grouped_entities_carry_the_pipelines_keys_and_the_texts_own_characters(tagger, sentences):
    entities = [e for text in sentences[:50] for e in tagger(text)]
    assert entities
    for e in entities:
        assert list(e) == ["entity_group", "score", "word", "start", "end", "byte_start", "byte_end", "text"]
        assert isinstance(e["score"], float) and 0 < e["score"] <= 1
    text = "Müller met Ångström in Zürich ."
    for e in tagger(text):
        assert text[e["start"]:e["end"]] == e["text"]
        assert text.encode()[e["byte_start"]:e["byte_end"]].decode() == e["text"]


def test_aggregation_none_gives_entity_and_index_and_a_call_may_choose_it(bundled_model, tagger, sentences):
    text = sentences[1]
    per_token = albertner.Tagger(bundled_model, aggregation="none")(text)
    assert per_token and all(list(e)[:3] == ["entity", "score", "index"] for e in per_token)
    assert tagger(text, aggregation="none") == per_token
    assert tagger.aggregation == "first"  # the bundled model's recommendation; the call did not change it
    assert tagger(text, aggregation="first") == tagger(text)


def test_ignore_labels_per_tagger_and_per_call(bundled_model, tagger, sentences):
    text = sentences[1]
    everything = tagger(text, aggregation="none", ignore_labels=[])
    assert len(everything) == len(tagger.tokens(text)) - 2  # every token but [CLS] and [SEP], O too
    kept = [e for e in everything if e["entity"] != "O"]
    assert tagger(text, aggregation="none") == kept
    no_loc = albertner.Tagger(bundled_model, ignore_labels=["O", "LOC"])(sentences[:30])
    assert all(e["entity_group"] != "LOC" for row in no_loc for e in row)


def test_bytes_are_tagged_as_their_utf8_text(tagger):
    text = "Angela Merkel flew from Berlin to Paris ."
    assert tagger(text.encode("utf-8")) == tagger(text)


def test_logits_are_a_numpy_array_whose_argmax_gives_the_per_token_labels(tagger, sentences):
    text = sentences[2]
    logits = tagger.logits(text)
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
    assert logits.shape == (len(tagger.tokens(text)), len(tagger.labels))
    tokens = tagger(text, aggregation="none", ignore_labels=[])
    assert [tagger.labels[int(i)] for i in logits[1:-1].argmax(axis=1)] == [e["entity"] for e in tokens]


def test_no_model_named_means_the_bundled_model(bundled_model, sentences, monkeypatch):
    monkeypatch.delenv("ALBERTNER_MODEL", raising=False)
    default = albertner.Tagger()
    assert os.path.samefile(os.path.dirname(default.model_path), os.path.dirname(albertner.default_model()))
    assert default(sentences[:10]) == albertner.Tagger(bundled_model)(sentences[:10])


def test_options_resolve_the_models_defaults(tagger):
    o = tagger.options
    assert o["aggregation"] == "first" and o["threads"] == 1 and o["window"] == 256 and o["overlap"] == 64  # the small model: 256 positions
    assert tagger.labels[0] == "O" and "B-PER" in tagger.labels


def test_evaluate_gives_the_scores_of_albertner_eval(bundled_model, tmp_path):
    cli = cli_path()
    if cli is None:
        pytest.skip("skipped: the albertner CLI is not built (set ALBERTNER_CLI)")
    source = os.path.join(shared_dir(), "data", "conll2003", "test.txt")
    conll_sentences()  # skips without the fixtures
    with open(source, encoding="utf-8") as f:
        lines = f.read().split("\n")[:3000]  # about 200 sentences
    data = tmp_path / "part.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scores = albertner.evaluate(bundled_model, data)
    expected = json.loads(subprocess.run([cli, "eval", bundled_model, "--data", str(data), "--json"],
                                         capture_output=True, check=True).stdout)
    for key in ("precision", "recall", "f1", "accuracy"):
        assert scores[key] == expected[key]
    assert set(scores["per_type"]) == set(expected["per_type"])
    for t, c in expected["per_type"].items():
        assert {k: scores["per_type"][t][k] for k in c} == c
    assert 0 < scores["f1"] < 1
    constrained = albertner.evaluate(bundled_model, data, constrained=True)
    expected = json.loads(subprocess.run([cli, "eval", bundled_model, "--data", str(data), "--json", "--constrained"],
                                         capture_output=True, check=True).stdout)
    assert constrained["f1"] == expected["f1"] and constrained["precision"] == expected["precision"]
    # A window shorter than the longer sentences: the default overlap (a quarter of the window) is the CLI's.
    short = albertner.evaluate(bundled_model, data, window=16)
    expected = json.loads(subprocess.run([cli, "eval", bundled_model, "--data", str(data), "--json", "--window", "16"],
                                         capture_output=True, check=True).stdout)
    assert short["f1"] == expected["f1"] and short["precision"] == expected["precision"]


def test_convert_writes_a_model_the_tagger_opens(tmp_path):
    tiny = os.path.join(shared_dir(), "golden", "tiny")
    if not os.path.isdir(tiny):
        pytest.skip(f"skipped: {tiny} not found (set ALBERTNER_SHARED_DIR)")
    for dtype in ("f32", "int8"):
        out = tmp_path / f"tiny-{dtype}.safetensors"
        report = albertner.convert(tiny, out, dtype=dtype)
        assert report["bytes"] == os.path.getsize(out) and report["tensors"] > 0
        t = albertner.Tagger(out, aggregation="none", ignore_labels=[])
        text = "Hello world from Paris"
        assert len(t(text)) == len(t.tokens(text)) - 2
        assert t.logits(text).shape[1] == len(report["labels"])


def test_the_pipelines_aggregation_strategy_keyword_is_accepted(bundled_model, tagger, sentences):
    texts = sentences[:10]
    first = albertner.Tagger(bundled_model, aggregation="first")(texts)
    assert albertner.Tagger(bundled_model, aggregation_strategy="first")(texts) == first
    assert tagger(texts, aggregation_strategy="first") == first
    with pytest.raises(TypeError, match="not both"):
        tagger(texts, aggregation="first", aggregation_strategy="max")


def test_constrained_decoding_per_tagger_and_per_call_equals_the_clis(bundled_model, tagger, sentences):
    cli = cli_path()
    if cli is None:
        pytest.skip("skipped: the albertner CLI is not built (set ALBERTNER_CLI)")
    texts = sentences[:300]
    stdin = "".join(json.dumps({"text": s}) + "\n" for s in texts)
    run = subprocess.run([cli, "tag", bundled_model, "--constrained", "--input-format", "jsonl", "--format", "jsonl"],
                         input=stdin.encode(), capture_output=True, check=True)
    expected = [json.loads(line)["entities"] for line in run.stdout.decode().splitlines()]
    constrained = albertner.Tagger(bundled_model, constrained=True)
    assert constrained.options["constrained"] is True and tagger.options["constrained"] is False
    got = constrained(texts)
    assert all(same_entities(g, e) for g, e in zip(got, expected))
    assert tagger(texts, constrained=True) == got  # per call
    assert constrained(texts, constrained=False) == tagger(texts)
    assert got != tagger(texts)  # not vacuous: constraining changes some of these sentences
    with pytest.raises(TypeError):
        albertner.Tagger(bundled_model, constrained=1)
    with pytest.raises(TypeError):
        tagger("x", constrained="yes")
    assert pickle.loads(pickle.dumps(constrained)).options["constrained"] is True
