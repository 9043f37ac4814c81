"""SimilarityModel: encode order and batching, heads, several encoders, save/load, collators."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from simtune import (
    LinearHead,
    SimilarityGroupSample,
    SimilarityModel,
    SimilarityPairSample,
    SkipConnectionHead,
    TransformerEncoder,
)
from simtune.data import GroupBatch, GroupSimilarityDataLoader, PairBatch, PairsSimilarityDataLoader, SimilarityCollator

TEXTS = ["a red shoe", "cloud storage price for a large backup in one region", "mug", "how do i resize a server"]


@pytest.fixture(scope="module")
def encoder(tiny_bert_dir):
    return TransformerEncoder(str(tiny_bert_dir), max_length=16)


def test_encode_is_order_and_batch_independent(encoder):
    model = SimilarityModel(encoder)
    one_by_one = np.stack([model.encode([t])[0] for t in TEXTS])
    batched = model.encode(TEXTS, batch_size=3)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert batched.dtype == np.float32 and batched.shape == (4, 32)
    assert isinstance(model.encode(TEXTS, to_numpy=False), torch.Tensor)
    assert model.encode([]).shape == (0, 32)


def test_bf16_close_to_fp32(encoder):
    model = SimilarityModel(encoder)
    fp32 = model.encode(TEXTS)
    bf16 = model.encode(TEXTS, precision="bf16")
    cos = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cos.min() > 0.99


def test_pooling_modes_by_hand(encoder):
    features = encoder.get_collate_fn()(TEXTS[:2])
    tokens = encoder.model(**features).last_hidden_state
    mask = features["attention_mask"]
    for pooling in ("mean", "cls", "max"):
        encoder.pooling = pooling
        out = encoder(features)
        for i in range(2):
            valid = tokens[i, mask[i].bool()]
            expected = {"mean": valid.mean(0), "cls": tokens[i, 0], "max": valid.max(0).values}[pooling]
            torch.testing.assert_close(out[i], expected, atol=1e-5, rtol=1e-5)
    encoder.pooling = "mean"


def test_dynamic_padding_and_max_length(encoder):
    features = encoder.get_collate_fn()(["mug", "mug mug"])
    assert features["input_ids"].shape[1] == 4  # [CLS] mug mug [SEP]: the longest, not max_length
    long = encoder.get_collate_fn()(["mug " * 50])
    assert long["input_ids"].shape[1] == 16


def test_prefix_is_prepended(tiny_bert_dir):
    plain = TransformerEncoder(str(tiny_bert_dir))
    prefixed = TransformerEncoder(str(tiny_bert_dir), prefix="query: ")
    a = plain.get_collate_fn()(["query: mug"])["input_ids"]
    b = prefixed.get_collate_fn()(["mug"])["input_ids"]
    assert torch.equal(a, b)


@pytest.mark.parametrize("head_cls", [LinearHead, SkipConnectionHead])
def test_heads_and_two_encoders_roundtrip(tiny_bert_dir, tmp_path, head_cls):
    torch.manual_seed(0)
    encoders = {
        "mean": TransformerEncoder(str(tiny_bert_dir), pooling="mean"),
        "cls": TransformerEncoder(str(tiny_bert_dir), pooling="cls", normalize=True),
    }
    head = LinearHead(64, 16) if head_cls is LinearHead else SkipConnectionHead(64)
    if head_cls is SkipConnectionHead:
        torch.nn.init.normal_(head.fc.weight)  # leave the identity start, so the head matters
    model = SimilarityModel(encoders, head)
    embeddings = model.encode(TEXTS)
    expected_size = 16 if head_cls is LinearHead else 64
    assert embeddings.shape == (4, expected_size)
    cat = np.concatenate([SimilarityModel(e).encode(TEXTS) for e in encoders.values()], axis=1)
    with torch.no_grad():
        expected = head(torch.from_numpy(cat)).numpy()
    np.testing.assert_allclose(embeddings, expected, atol=1e-5)
    model.save(tmp_path / "m")
    assert not (tmp_path / "m" / "modules.json").exists()  # not a sentence-transformers model
    np.testing.assert_allclose(SimilarityModel.load(tmp_path / "m").encode(TEXTS), embeddings, atol=1e-5)


def test_skip_connection_starts_as_identity(encoder):
    plain = SimilarityModel(encoder).encode(TEXTS)
    with_head = SimilarityModel(encoder, SkipConnectionHead(32)).encode(TEXTS)
    np.testing.assert_allclose(with_head, plain, atol=1e-6)


def test_head_size_mismatch(encoder):
    with pytest.raises(ValueError, match="head expects input of size 10"):
        SimilarityModel(encoder, LinearHead(10, 4))


def test_pair_and_group_batches(encoder):
    model = SimilarityModel(encoder)
    pairs = [SimilarityPairSample("mug", "coffee mug", 1.0, 3), SimilarityPairSample("shoe", "red shoe", 0.0, 4)]
    batch = next(iter(PairsSimilarityDataLoader(pairs, collator=SimilarityCollator(model), batch_size=2)))
    assert isinstance(batch, PairBatch) and batch.size == 2
    assert batch.texts == ["mug", "shoe", "coffee mug", "red shoe"]
    assert batch.scores.tolist() == [1.0, 0.0] and batch.subgroups.tolist() == [3, 4]
    assert batch.features["default"]["input_ids"].shape[0] == 4
    groups = [SimilarityGroupSample("mug", 1), SimilarityGroupSample("cup", 1), SimilarityGroupSample("shoe", 2)]
    gbatch = next(iter(GroupSimilarityDataLoader(groups, collator=SimilarityCollator(model), batch_size=3)))
    assert isinstance(gbatch, GroupBatch) and gbatch.groups.tolist() == [1, 1, 2]
    untokenized = SimilarityCollator(model, tokenize=False)(pairs)
    assert untokenized.features is None and untokenized.texts == batch.texts


def test_collator_pickles_for_workers(encoder):
    collator = SimilarityCollator(SimilarityModel(encoder))
    clone = pickle.loads(pickle.dumps(collator))
    pairs = [SimilarityPairSample(f"mug {i}", f"cup {i}") for i in range(8)]
    loader = DataLoader(pairs, batch_size=4, collate_fn=clone, num_workers=2)
    sizes = [batch.size for batch in loader]
    assert sizes == [4, 4]
