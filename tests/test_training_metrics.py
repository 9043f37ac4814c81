"""configure_metrics: whole-validation-set metrics at each validation epoch end, logged by name."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from simtune import SimilarityModel, TransformerEncoder
from simtune.data import PairsSimilarityDataLoader
from simtune.eval import Evaluator, PairClassificationSampler, PairSampler
from simtune.losses import ClampedCosineLoss
from simtune.samples import SimilarityPairSample
from simtune.trainable import TrainableModel
from tests.models.pair_models import PAIRS


class FrozenWithMetrics(TrainableModel):
    """A frozen encoder with a head that learns nothing (lr 0): metrics must equal an offline run."""

    lr = 0.0

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__()

    def configure_encoders(self):
        return TransformerEncoder(self.path)

    def configure_head(self, input_embedding_size):
        from simtune import LinearHead

        return LinearHead(input_embedding_size, input_embedding_size)

    def configure_loss(self):
        return ClampedCosineLoss()

    def configure_metrics(self):
        return [
            Evaluator({"mrr": "reciprocal_rank", "precision@1": "precision@1"}, PairSampler()),
            Evaluator({"roc_auc": "roc_auc"}, PairClassificationSampler()),
        ]


def test_validation_metrics_cover_the_whole_set(tiny_bert_dir):
    pl.seed_everything(0)
    model = FrozenWithMetrics(str(tiny_bert_dir))
    positives = [SimilarityPairSample(a, b, s) for a, b, s in PAIRS]
    train = PairsSimilarityDataLoader(positives, collator=model.collator(), batch_size=8)
    # batch size 7 splits the set unevenly: a per-batch average would differ from the whole-set value
    val = PairsSimilarityDataLoader(positives, collator=model.collator(), batch_size=7)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(model, train, val)
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    servable = SimilarityModel(model.model.encoders["default"], model.model.head)
    expected = Evaluator({"mrr": "reciprocal_rank", "precision@1": "precision@1"}, PairSampler()).evaluate(
        positives, servable
    )
    expected |= Evaluator({"roc_auc": "roc_auc"}, PairClassificationSampler()).evaluate(positives, servable)
    # Batched and one-pass embeddings differ by ~1e-6, which can swap near-tied ranks of this
    # random tiny model; per-batch metrics (14 candidates instead of 60) would be far off.
    for name, value in expected.items():
        assert logged[f"val_{name}"] == pytest.approx(value, abs=2e-3), name
    assert 0.0 < logged["val_roc_auc"] <= 1.0


def test_gather_rows_trims_padding():
    from simtune.training_utils import gather_rows

    class FakeTwoRanks:
        """all_gather as two ranks holding 3 and 1 rows would return it (rank 1 mirrored here)."""

        def all_gather(self, t):
            if t.numel() == 1:
                return torch.stack([torch.tensor([3]), torch.tensor([1])])
            other = torch.zeros_like(t)
            other[0] = 9.0
            return torch.stack([t, other])

    rows = torch.arange(6, dtype=torch.float32).view(3, 2)
    out = gather_rows(FakeTwoRanks(), rows)
    assert out.tolist() == [[0, 1], [2, 3], [4, 5], [9, 9]]
