"""The embedding cache: filled once, looked up by object, same numbers as running the encoder."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from simtune import CacheConfig, SkipConnectionHead, TransformerEncoder, fit
from simtune.data import PairsSimilarityDataLoader
from simtune.losses import MultipleNegativesRankingLoss
from simtune.samples import SimilarityPairSample
from simtune.trainable import TrainableModel
from tests.models.pair_models import PAIRS


class HeadOnly(TrainableModel):
    def __init__(self, path: str, cache: CacheConfig | None) -> None:
        self.path, self.cache_config = path, cache
        super().__init__()

    def configure_encoders(self):
        return TransformerEncoder(self.path)

    def configure_head(self, input_embedding_size):
        head = SkipConnectionHead(input_embedding_size)
        torch.nn.init.normal_(head.fc.weight, std=0.1)
        return head

    def configure_loss(self):
        return MultipleNegativesRankingLoss(symmetric=True)

    def configure_caches(self):
        return self.cache_config


SAMPLES = [SimilarityPairSample(a, b, s) for a, b, s in PAIRS]


def test_cached_embeddings_equal_encoder_output(tiny_bert_dir, tmp_path):
    cached = HeadOnly(str(tiny_bert_dir), CacheConfig(save_dir=str(tmp_path), show_progress=False))
    plain = HeadOnly(str(tiny_bert_dir), None)
    plain.model.head.load_state_dict(cached.model.head.state_dict())
    collator = cached.collator()
    assert collator.collate_fn is None  # every encoder cached: no tokenizing in training
    loader = PairsSimilarityDataLoader(SAMPLES, collator=collator, batch_size=8)
    plain_loader = PairsSimilarityDataLoader(SAMPLES, collator=plain.collator(), batch_size=8)
    cached.fill_cache(loader)
    distinct = {t for s in SAMPLES for t in (s.obj_a, s.obj_b)}
    assert len(cached.cache.index) == len(distinct)
    for batch, plain_batch in zip(loader, plain_loader, strict=True):
        with torch.no_grad():
            torch.testing.assert_close(cached.embed(batch), plain.embed(plain_batch), atol=1e-5, rtol=1e-5)
            assert cached._step(batch)[0].item() == pytest.approx(plain._step(plain_batch)[0].item(), abs=1e-5)
    # a second model reads the saved cache instead of encoding again
    files = list(tmp_path.glob("cache-*.safetensors"))
    assert len(files) == 1
    again = HeadOnly(str(tiny_bert_dir), CacheConfig(save_dir=str(tmp_path), show_progress=False))
    again.cache.fill(again.model, [loader])
    for name in cached.cache.vectors:
        assert torch.equal(again.cache.vectors[name], cached.cache.vectors[name])


def test_bf16_fill_gets_its_own_cache_file(tiny_bert_dir, tmp_path):
    config = CacheConfig(save_dir=str(tmp_path), show_progress=False)
    fp32 = HeadOnly(str(tiny_bert_dir), config)
    loader = PairsSimilarityDataLoader(SAMPLES, collator=fp32.collator(), batch_size=8)
    fp32.fill_cache(loader)
    bf16 = HeadOnly(str(tiny_bert_dir), config)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16.fill_cache(loader)
    assert len(list(tmp_path.glob("cache-*.safetensors"))) == 2  # not served the fp32 vectors
    diff = (bf16.cache.vectors["default"] - fp32.cache.vectors["default"]).abs().max().item()
    assert 0 < diff < 0.1


def test_fit_fills_cache_and_trains_head_only(tiny_bert_dir):
    model = HeadOnly(str(tiny_bert_dir), CacheConfig(show_progress=False))
    encoder_before = {k: v.clone() for k, v in model.model.encoders.state_dict().items()}
    head_before = {k: v.clone() for k, v in model.model.head.state_dict().items()}
    loader = PairsSimilarityDataLoader(SAMPLES, collator=model.collator(), batch_size=8, shuffle=True)
    trainer = pl.Trainer(
        max_steps=5, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    fit(model, trainer, loader)
    assert model.cache.is_filled
    for k, v in model.model.encoders.state_dict().items():
        assert torch.equal(v, encoder_before[k])
    assert any(not torch.equal(v, head_before[k]) for k, v in model.model.head.state_dict().items())


def test_unknown_object_and_bad_config(tiny_bert_dir):
    model = HeadOnly(str(tiny_bert_dir), CacheConfig(show_progress=False))
    loader = PairsSimilarityDataLoader(SAMPLES[:4], collator=model.collator(), batch_size=4)
    model.fill_cache(loader)
    other = PairsSimilarityDataLoader([SimilarityPairSample("never seen", "nor this")], collator=model.collator())
    with pytest.raises(KeyError, match="'never seen' is not in the embedding cache"):
        model.embed(next(iter(other)))
    with pytest.raises(ValueError, match="CacheConfig.where must be one of"):
        CacheConfig(where="disk")
