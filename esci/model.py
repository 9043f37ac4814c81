"""The ESCI trainable model: a (LoRA) MiniLM trained on judged (query, product title) pairs.

Defined here, not in ``esci/train.py``: a class from ``__main__`` could not be saved and loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from simtune.encoders import DEFAULT_MODEL, Encoder, LoraEncoder, TransformerEncoder
from simtune.eval import Evaluator, PairClassificationSampler
from simtune.losses import ClampedCosineLoss, MultipleNegativesRankingLoss
from simtune.losses.base import PairwiseLoss
from simtune.trainable import TrainableModel


class ClampedCosineRankingLoss(PairwiseLoss):
    """The guide's clamped-cosine loss plus an in-batch ranking term.

    loss = clamped_cosine(a, b, s) + weight * MNRL(a, b, s, subgroups)

    The ranking term asks each relevant pair's query (score > 0.5) to pick its own product among
    every product of the batch (softmax with inverse temperature ``scale``); products of the same
    query (same subgroup) are masked out, as they are not negatives. Without it the clamped
    cosine only sees judged pairs, most of them relevant, and retrieval over a catalogue degrades
    (see ``shared/notes/esci.md``).

    Args:
        ranking_weight: Weight of the ranking term; 0 gives the guide's loss alone.
        scale: Inverse temperature of the ranking softmax.
    """

    def __init__(self, ranking_weight: float = 1.0, scale: float = 20.0) -> None:
        super().__init__()
        self.ranking_weight = float(ranking_weight)
        self.clamped = ClampedCosineLoss()
        self.ranking = MultipleNegativesRankingLoss(scale=scale)

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor) -> Tensor:
        """emb_a (n, d) queries, emb_b (n, d) products, scores (n,) in {0, 1}, subgroups (n,) query ids."""
        loss = self.clamped(emb_a, emb_b, scores, subgroups)
        if self.ranking_weight:
            loss = loss + self.ranking_weight * self.ranking(emb_a, emb_b, scores, subgroups)
        return loss


@dataclass
class RetrievalProbe:
    """What validation needs to rank queries against a catalogue (exact cosine, in memory).

    Attributes:
        queries: Distinct query texts, one per query id in ``qrels`` order.
        query_ids: Their query ids.
        product_ids: Catalogue product ids.
        titles: Catalogue titles (what is embedded), aligned with ``product_ids``.
        qrels: ``{query_id: {product_id: gain}}`` (see ``esci.data.to_qrels``).
        k: nDCG cut-off.
    """

    queries: list[str]
    query_ids: list[int]
    product_ids: list[str]
    titles: list[str]
    qrels: dict[int, dict[str, float]]
    k: int = 10


class EsciModel(TrainableModel):
    """LoRA (or fully fine-tuned) transformer encoder for product search.

    Validation logs ``val_roc_auc`` (every judged pair's cosine as a classifier of E/S against
    C/I) and, when ``probe`` is set, ``val_ndcg@<k>`` of exact search of the probe's queries over
    its catalogue.

    Args:
        model_name_or_path: Base transformer (hub id or folder).
        max_length: Token cap per text.
        use_peft: LoRA adapters on a frozen base; False trains every weight.
        lora_r, lora_alpha, lora_dropout, lora_target_modules: LoRA settings.
        learning_rate, weight_decay: AdamW settings.
        ranking_weight: Weight of the in-batch ranking term (0: the guide's loss alone).
        ranking_scale: Inverse temperature of the ranking term.
        encode_precision: "bf16" or "fp32" for the probe's embedding at validation.
    """

    def __init__(
        self,
        model_name_or_path: str = DEFAULT_MODEL,
        max_length: int = 70,
        use_peft: bool = True,
        lora_r: int = 8,
        lora_alpha: int = 16,
        lora_dropout: float = 0.1,
        lora_target_modules: Sequence[str] = ("query", "key", "value"),
        learning_rate: float = 1e-4,
        weight_decay: float = 0.0,
        ranking_weight: float = 1.0,
        ranking_scale: float = 20.0,
        encode_precision: str = "fp32",
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.use_peft = use_peft
        self.lora = dict(r=lora_r, alpha=lora_alpha, dropout=lora_dropout,
                         target_modules=tuple(lora_target_modules))
        self.lr = learning_rate
        self.weight_decay = weight_decay
        self.ranking_weight = ranking_weight
        self.ranking_scale = ranking_scale
        self.encode_precision = encode_precision
        self.probe: RetrievalProbe | None = None
        super().__init__()
        # Frozen base weights are left out of checkpoints (see on_save_checkpoint); they come
        # back from model_name_or_path, so loading must accept their absence.
        self.strict_loading = not use_peft

    def configure_encoders(self) -> Encoder:
        base = TransformerEncoder(self.model_name_or_path, max_length=self.max_length,
                                  trainable=not self.use_peft)
        if not self.use_peft:
            return base
        return LoraEncoder(base, r=self.lora["r"], alpha=self.lora["alpha"],
                           dropout=self.lora["dropout"], target_modules=self.lora["target_modules"])

    def configure_loss(self) -> PairwiseLoss:
        return ClampedCosineRankingLoss(self.ranking_weight, self.ranking_scale)

    def configure_metrics(self) -> Evaluator:
        return Evaluator(["roc_auc"], PairClassificationSampler())

    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        if self.probe is not None:
            from esci.retrieval import exact_ndcg

            value = exact_ndcg(self.model, self.probe, precision=self.encode_precision)
            self.log(f"val_ndcg@{self.probe.k}", value, prog_bar=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # With LoRA the base (90 MB for MiniLM) never changes: store only what trains, so a
        # checkpoint is ~1 MB and writing one every few steps costs nothing.
        if self.use_peft:
            frozen = {name for name, p in self.named_parameters() if not p.requires_grad}
            state = checkpoint["state_dict"]
            for name in frozen & state.keys():
                del state[name]
