"""Bad input raises a Python exception carrying the library's message; nothing crashes."""
import os

import pytest

import albertner


@pytest.fixture(scope="module")
def tagger(bundled_model):
    return albertner.Tagger(bundled_model)


def test_a_missing_model_file_is_a_file_not_found_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "model.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        albertner.Tagger(missing)
    assert isinstance(info.value, OSError)
    assert str(missing) in str(info.value)


def test_a_file_that_is_not_a_model_is_an_os_error_naming_it(tmp_path):
    junk = tmp_path / "notes.safetensors"
    junk.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(OSError) as info:
        albertner.Tagger(junk)
    assert "notes.safetensors" in str(info.value) and "format" in str(info.value)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(OSError, match="empty.safetensors"):
        albertner.Tagger(empty)
    with pytest.raises(OSError):
        albertner.Tagger(tmp_path)  # a folder


def test_invalid_utf8_bytes_are_a_value_error(tagger):
    with pytest.raises(ValueError, match="UTF-8"):
        tagger(b"Paris \xff\xfe London")
    with pytest.raises(ValueError, match="text 1"):
        tagger([b"fine", b"\xc3"])
    with pytest.raises(ValueError):
        tagger.logits(b"\xed\xa0\x80")  # an encoded surrogate
    with pytest.raises(ValueError):
        tagger("lone surrogate \ud800")  # a str that has no UTF-8
    assert tagger("Paris") == tagger(b"Paris")  # still usable afterwards


@pytest.mark.parametrize("bad", [123, 4.5, None, {"text": "x"}, [1, 2], ["ok", None]])
def test_texts_of_the_wrong_type_are_a_type_error(tagger, bad):
    with pytest.raises(TypeError, match="must be str"):
        tagger(bad)


def test_options_of_the_wrong_type_are_type_errors(bundled_model, tagger):
    with pytest.raises(TypeError, match="model"):
        albertner.Tagger(42)
    with pytest.raises(TypeError, match="threads"):
        albertner.Tagger(bundled_model, threads="2")
    with pytest.raises(TypeError, match="aggregation"):
        albertner.Tagger(bundled_model, aggregation=1)
    with pytest.raises(TypeError, match="ignore_labels"):
        albertner.Tagger(bundled_model, ignore_labels="O")
    with pytest.raises(TypeError, match="ignore_labels"):
        tagger("Paris", ignore_labels=[1])


def test_options_out_of_range_are_value_errors(bundled_model, tagger):
    with pytest.raises(ValueError, match="aggregation"):
        albertner.Tagger(bundled_model, aggregation="mean")
    with pytest.raises(ValueError, match="aggregation"):
        tagger("Paris", aggregation="mean")
    with pytest.raises(ValueError, match="threads"):
        albertner.Tagger(bundled_model, threads=0)
    with pytest.raises(ValueError, match="threads"):
        albertner.Tagger(bundled_model, threads=100000)  # the library's own limit
    with pytest.raises(ValueError, match="window"):
        albertner.Tagger(bundled_model, window=100000)


def test_convert_and_evaluate_errors_name_the_file(tmp_path, bundled_model):
    with pytest.raises(OSError, match="no-such-dir"):
        albertner.convert(tmp_path / "no-such-dir", tmp_path / "out.safetensors")
    with pytest.raises(ValueError, match="dtype"):
        albertner.convert(bundled_model, tmp_path / "out.safetensors", dtype="fp4")
    with pytest.raises(OSError, match="missing.txt"):
        albertner.evaluate(bundled_model, tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP Q-XX\n")
    with pytest.raises(OSError, match="bad.txt"):
        albertner.evaluate(bundled_model, bad)
    assert not os.path.exists(tmp_path / "out.safetensors")
