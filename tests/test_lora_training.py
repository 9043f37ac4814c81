"""Acceptance: LoRA training on the bundled MiniLM trains adapters only, saves small, merges exactly."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from simtune import SimilarityModel
from simtune.data import PairsSimilarityDataLoader
from simtune.samples import SimilarityPairSample
from tests.models.pair_models import PAIRS, LoraPairModel


@pytest.fixture(scope="module")
def trained(minilm_path, tmp_path_factory):
    """30 steps of LoRA on the bundled MiniLM; returns (model, base weights before, losses)."""
    pl.seed_everything(0)
    model = LoraPairModel(str(minilm_path), lr=2e-3)
    base_before = {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" not in name}
    samples = [SimilarityPairSample(a, b, s) for a, b, s in PAIRS]
    loader = PairsSimilarityDataLoader(samples, collator=model.collator(), batch_size=10, shuffle=True)
    with torch.no_grad():
        first = float(np.mean([model._step(b)[0].item() for b in loader]))
    trainer = pl.Trainer(
        max_steps=30,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader)
    model.eval()
    with torch.no_grad():
        last = float(np.mean([model._step(b)[0].item() for b in loader]))
    return model, base_before, (first, last), tmp_path_factory.mktemp("lora")


def test_loss_falls(trained):
    _, _, (first, last), _ = trained
    assert last < 0.7 * first, (first, last)


def test_only_adapters_change(trained):
    model, base_before, _, _ = trained
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    for name, p in model.named_parameters():
        if name in base_before:
            assert torch.equal(p.detach(), base_before[name]), f"base weight {name} changed"
    lora = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora), "adapters never learned (lora_B still zero)"


def test_adapter_folder_small_and_reloads(trained):
    model, _, _, tmp = trained
    encoder = model.model.encoders["default"]
    encoder.save(tmp / "adapter")
    size = sum(f.stat().st_size for f in (tmp / "adapter").rglob("*") if f.is_file())
    assert size < 2_000_000, size
    config = (tmp / "adapter" / "adapter_config.json").read_text()
    assert "base_model_name_or_path" in config
    from simtune.encoders import LoraEncoder

    reloaded = LoraEncoder.load(tmp / "adapter")
    texts = ["deep learning book", "azure vm backup"]
    a = SimilarityModel(encoder).encode(texts)
    b = SimilarityModel(reloaded).encode(texts)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_servable_roundtrip_and_merge(trained):
    model, _, _, tmp = trained
    texts = [a for a, _, _ in PAIRS[:10]] + [b for _, b, _ in PAIRS[:10]]
    unmerged = model.model.encode(texts)
    model.save_servable(tmp / "servable")
    merged = model.servable().encode(texts)
    loaded = SimilarityModel.load(tmp / "servable").encode(texts)
    assert np.abs(merged - unmerged).max() < 1e-4
    assert np.abs(loaded - merged).max() < 1e-5
    # the trained model differs from the pre-trained one (else the comparison proves nothing)
    from simtune import TransformerEncoder

    pretrained = SimilarityModel(TransformerEncoder(model.model_path)).encode(texts)
    assert np.abs(pretrained - loaded).max() > 1e-3


def test_servable_loads_in_sentence_transformers(trained):
    from sentence_transformers import SentenceTransformer

    model, _, _, tmp = trained
    model.save_servable(tmp / "st_servable")
    texts = ["kitchen knife set", "what is cloud storage", "a"]
    ours = SimilarityModel.load(tmp / "st_servable").encode(texts)
    theirs = SentenceTransformer(str(tmp / "st_servable"), device="cpu").encode(texts)
    assert np.abs(ours - theirs).max() < 1e-5
