"""Length buckets: a batch tokenized in runs of similar length gives the same embeddings and loss
as one padded block, with fewer padded tokens."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from simtune.data import GroupSimilarityDataLoader, LengthBuckets, PairsSimilarityDataLoader, SimilarityCollator
from simtune.samples import SimilarityGroupSample, SimilarityPairSample
from tests.models.pair_models import PAIRS, LoraPairModel

SAMPLES = [SimilarityPairSample(a, b, s, i + 1) for i, (a, b, s) in enumerate(PAIRS)]


@pytest.fixture
def model(tiny_bert_dir):
    torch.manual_seed(0)
    m = LoraPairModel(str(tiny_bert_dir))
    for name, param in m.named_parameters():  # non-zero adapters, so the LoRA path counts too
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.05)
    return m.eval()


def _padded_tokens(features) -> int:
    if isinstance(features, LengthBuckets):
        return sum(part["default"]["input_ids"].numel() for part in features.parts)
    return features["default"]["input_ids"].numel()


def test_bucketed_pair_batch_equals_one_block(model):
    block = model.collator(bucket_size=None)(SAMPLES)
    bucketed = model.collator(bucket_size=4)(SAMPLES)
    assert isinstance(bucketed.features, LengthBuckets) and len(bucketed.features.parts) == -(-2 * len(SAMPLES) // 4)
    assert bucketed.texts == block.texts and torch.equal(bucketed.scores, block.scores)
    assert _padded_tokens(bucketed.features) < _padded_tokens(block.features)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(bucketed), model.embed(block), atol=1e-5, rtol=1e-5)
        assert model._step(bucketed)[0].item() == pytest.approx(model._step(block)[0].item(), abs=1e-5)


def test_bucketed_group_batch_and_gradients_match(model):
    groups = [SimilarityGroupSample(text, i % 3) for i, (text, _, _) in enumerate(PAIRS)]
    block = SimilarityCollator(model.model, bucket_size=None)(groups)
    bucketed = SimilarityCollator(model.model, bucket_size=3)(groups)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(bucketed), model.embed(block), atol=1e-5, rtol=1e-5)
    grads = []  # in eval mode: dropout masks would differ with the row order
    for batch in (model.collator(bucket_size=None)(SAMPLES), model.collator(bucket_size=5)(SAMPLES)):
        model.zero_grad()
        model._step(batch)[0].backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    # float32 rounding differs with the padding: compare the whole gradient by its norm
    ref = torch.cat([g.flatten() for g in grads[0].values()])
    got = torch.cat([grads[1][name].flatten() for name in grads[0]])
    assert ref.norm() > 1e-3
    assert (got - ref).norm() / ref.norm() < 1e-4


def test_default_buckets_large_batches_only_and_bad_size_refused(model):
    assert not isinstance(model.collator()(SAMPLES[:16]).features, LengthBuckets)  # 32 texts: one block
    big = model.collator()(SAMPLES[:14] * 3)  # 84 texts: runs of 32, 32, 20
    assert [part["default"]["input_ids"].shape[0] for part in big.features.parts] == [32, 32, 20]
    with pytest.raises(ValueError, match="bucket_size must be a positive integer or None, got 0"):
        SimilarityCollator(model.model, bucket_size=0)


def test_trainer_fits_on_bucketed_loaders(model):
    loader = PairsSimilarityDataLoader(SAMPLES, collator=model.collator(bucket_size=6), batch_size=8, shuffle=True)
    before = {n: p.clone() for n, p in model.named_parameters() if p.requires_grad}
    trainer = pl.Trainer(max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)  # fmt: skip
    trainer.fit(model.train(), loader)
    assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if p.requires_grad)
    groups = [SimilarityGroupSample(text, i % 3) for i, (text, _, _) in enumerate(PAIRS)]
    batch = next(iter(GroupSimilarityDataLoader(groups, collator=SimilarityCollator(model.model, bucket_size=4),
                                                batch_size=8)))  # fmt: skip
    assert isinstance(batch.features, LengthBuckets) and batch.groups.tolist() == [i % 3 for i in range(8)]
