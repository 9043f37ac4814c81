"""The FAQ models: Quaterion's tutorial model (frozen MiniLM + SkipConnectionHead, cached) and a
LoRA variant (adapters on the attention projections, no head, no cache).

Both save servables made of simtune classes only, so ``SimilarityModel.load`` needs no ``faq`` code.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from simtune.cache import CacheConfig
from simtune.encoders import DEFAULT_MODEL, LoraEncoder, TransformerEncoder
from simtune.eval import Evaluator, PairSampler, precision_at_k, reciprocal_rank
from simtune.heads import EncoderHead, SkipConnectionHead
from simtune.losses import MultipleNegativesRankingLoss
from simtune.trainable import TrainableModel


def faq_evaluator(batch_size: int = 64) -> Evaluator:
    """precision@1 and MRR under Quaterion's pair protocol: each of the 2n texts (questions and
    answers) retrieves among the other 2n - 1; its partner is the one relevant item."""
    metrics = {"precision@1": partial(precision_at_k, k=1), "mrr": reciprocal_rank}
    return Evaluator(metrics, PairSampler(batch_size=batch_size))


class FAQModel(TrainableModel):
    """The tutorial's model: frozen all-MiniLM-L6-v2, a trainable ``SkipConnectionHead``,
    symmetric ``MultipleNegativesRankingLoss`` and the embedding cache.

    Args:
        lr: AdamW learning rate of the head.
        model_name: Encoder (hub id or folder).
        max_length: Token cap per text.
        use_cache: Serve the frozen encoder's embeddings from the cache (False runs the encoder
            at every step, for comparison).
        cache_dir: Keep the cache's embeddings in this folder between runs.
        cache_batch_size: Texts per encoder pass while filling the cache.
        dropout: Dropout on the head's learned branch.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        model_name: str = DEFAULT_MODEL,
        max_length: int = 128,
        use_cache: bool = True,
        cache_dir: str | None = None,
        cache_batch_size: int = 256,
        dropout: float = 0.0,
    ) -> None:
        self.lr = lr
        self.model_name, self.max_length, self.dropout = model_name, max_length, dropout
        self.use_cache, self.cache_dir, self.cache_batch_size = use_cache, cache_dir, cache_batch_size
        super().__init__()

    def configure_encoders(self) -> TransformerEncoder:
        return TransformerEncoder(self.model_name, max_length=self.max_length, trainable=False)

    def configure_head(self, input_embedding_size: int) -> EncoderHead:
        return SkipConnectionHead(input_embedding_size, dropout=self.dropout)

    def configure_loss(self) -> MultipleNegativesRankingLoss:
        return MultipleNegativesRankingLoss(symmetric=True)

    def configure_metrics(self) -> Evaluator:
        return faq_evaluator()

    def configure_caches(self) -> CacheConfig | None:
        if not self.use_cache:
            return None
        return CacheConfig(batch_size=self.cache_batch_size, save_dir=self.cache_dir, show_progress=False)


class FAQLoraModel(TrainableModel):
    """all-MiniLM-L6-v2 with LoRA adapters on query/key/value, no head, no cache.

    Args:
        lr: AdamW learning rate of the adapters.
        model_name: Base encoder (hub id or folder).
        max_length: Token cap per text.
        r: Adapter rank.
        alpha: LoRA scaling numerator (updates scaled by alpha / r).
        lora_dropout: Dropout on the adapters' input.
        warmup_steps: Linear warm-up of the learning rate, then linear decay to zero over
            ``total_steps`` (no schedule when ``total_steps`` is None).
        total_steps: Optimizer steps in the whole run.
    """

    def __init__(
        self,
        lr: float = 2e-4,
        model_name: str = DEFAULT_MODEL,
        max_length: int = 128,
        r: int = 8,
        alpha: int = 16,
        lora_dropout: float = 0.1,
        warmup_steps: int = 0,
        total_steps: int | None = None,
    ) -> None:
        self.lr = lr
        self.model_name, self.max_length = model_name, max_length
        self.r, self.alpha, self.lora_dropout = r, alpha, lora_dropout
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        super().__init__()

    def configure_encoders(self) -> LoraEncoder:
        base = TransformerEncoder(self.model_name, max_length=self.max_length)
        return LoraEncoder(base, r=self.r, alpha=self.alpha, dropout=self.lora_dropout,
                           target_modules=("query", "key", "value"))  # fmt: skip

    def configure_loss(self) -> MultipleNegativesRankingLoss:
        return MultipleNegativesRankingLoss(symmetric=True)

    def configure_metrics(self) -> Evaluator:
        return faq_evaluator()

    def configure_optimizers(self) -> Any:
        import torch

        optimizer = super().configure_optimizers()
        if self.total_steps is None:
            return optimizer
        warmup, total = max(self.warmup_steps, 0), max(self.total_steps, 1)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(total - warmup, 1))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
