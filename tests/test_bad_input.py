"""Bad input raises errors that say what was wrong and where."""

from __future__ import annotations

import shutil

import pytest

from simtune import EmptyHead, SimilarityModel, SimilarityPairSample, TransformerEncoder
from simtune.data import SimilarityCollator


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    return SimilarityModel(TransformerEncoder(str(tiny_bert_dir)))


@pytest.fixture()
def saved(model, tmp_path):
    model.save(tmp_path / "servable")
    return tmp_path / "servable"


def test_none_text_in_encode(model):
    with pytest.raises(TypeError, match=r"texts\[1\] is None: expected a str"):
        model.encode(["fine", None])


def test_non_string_text_in_encode(model):
    with pytest.raises(TypeError, match=r"texts\[0\] is 42"):
        model.encode([42])
    with pytest.raises(TypeError, match="single string"):
        model.encode("just one string")


def test_none_text_in_pair_batch(model):
    collator = SimilarityCollator(model)
    good = SimilarityPairSample("query", "doc")
    bad = SimilarityPairSample("query", None)
    with pytest.raises(TypeError, match=r"SimilarityPairSample.obj_b is None in .*expected a non-empty str"):
        collator([good, bad])


@pytest.mark.parametrize("score", [-0.1, 1.5])
def test_score_outside_unit_interval(score):
    with pytest.raises(ValueError, match=r"score must be in \[0, 1\]"):
        SimilarityPairSample("a", "b", score=score)


def test_missing_servable_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no servable at"):
        SimilarityModel.load(tmp_path / "nowhere")


def test_missing_config_file(saved):
    (saved / "simtune.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing file .*simtune.json"):
        SimilarityModel.load(saved)


def test_corrupted_config_file(saved):
    (saved / "simtune.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"simtune.json is not valid JSON"):
        SimilarityModel.load(saved)


def test_corrupted_head_weights(saved):
    (saved / "head" / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match=r"corrupted weights file .*head/model.safetensors"):
        SimilarityModel.load(saved)


def test_corrupted_encoder_weights(saved):
    (saved / "encoders" / "default" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"cannot load the transformer saved in .*encoders/default"):
        SimilarityModel.load(saved)


def test_missing_encoder_folder(saved):
    shutil.rmtree(saved / "encoders" / "default")
    with pytest.raises(FileNotFoundError, match=r"missing file .*encoders/default/simtune_encoder.json"):
        SimilarityModel.load(saved)


def test_unknown_class_in_config(saved):
    text = (saved / "simtune.json").read_text().replace("simtune.heads:EmptyHead", "os:path")
    (saved / "simtune.json").write_text(text)
    with pytest.raises(ValueError, match=r"simtune.json: class 'os:path' is not a subclass of EncoderHead"):
        SimilarityModel.load(saved)


def test_class_defined_in_main_is_refused(model, tmp_path):
    class ScriptHead(EmptyHead):
        pass

    ScriptHead.__module__ = "__main__"  # what a class defined in a training script looks like
    servable = SimilarityModel(model.encoders["default"], ScriptHead(model.embedding_size))
    with pytest.raises(ValueError, match=r"cannot save ScriptHead: it is defined in __main__"):
        servable.save(tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.iterdir()), "a failed save left files behind"


def test_save_replaces_atomically(model, saved):
    fingerprint = SimilarityModel.load(saved).fingerprint()
    model.save(saved)  # overwriting an existing servable
    assert SimilarityModel.load(saved).fingerprint() == fingerprint
    leftovers = [p.name for p in saved.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
