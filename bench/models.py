"""The benchmarks' application models (importable, so that saved servables can be loaded back)."""

from __future__ import annotations

from simtune.encoders import LoraEncoder, TransformerEncoder
from simtune.losses import MultipleNegativesRankingLoss
from simtune.trainable import TrainableModel


class FaqRankingModel(TrainableModel):
    """A transformer trained with in-batch negatives (MultipleNegativesRankingLoss, scale 20).

    Args:
        model_path: Local model folder (the bundled MiniLM by default in the benchmarks).
        lora: LoRA adapters (r=8, alpha=16, dropout 0.1 on query/key/value) on a frozen base;
            False fine-tunes every weight.
        max_length: Token cap per text.
        lr: AdamW learning rate.
        lora_dropout: Dropout on the adapters' input (0 skips it: no mask, no saved copy).
    """

    def __init__(
        self, model_path: str, lora: bool = True, max_length: int = 64, lr: float = 2e-4, lora_dropout: float = 0.1
    ) -> None:
        self.model_path = model_path
        self.lora_dropout = lora_dropout
        self.use_lora = lora
        self.max_length = max_length
        self.lr = lr
        super().__init__()

    def configure_encoders(self) -> TransformerEncoder | LoraEncoder:
        if self.use_lora:
            base = TransformerEncoder(self.model_path, max_length=self.max_length, trainable=False)
            return LoraEncoder(
                base, r=8, alpha=16, dropout=self.lora_dropout, target_modules=("query", "key", "value")
            )
        return TransformerEncoder(self.model_path, max_length=self.max_length, trainable=True)

    def configure_loss(self) -> MultipleNegativesRankingLoss:
        return MultipleNegativesRankingLoss(scale=20.0)
