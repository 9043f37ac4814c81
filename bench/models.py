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
    """

    def __init__(self, model_path: str, lora: bool = True, max_length: int = 64, lr: float = 2e-4) -> None:
        self.model_path = model_path
        self.use_lora = lora
        self.max_length = max_length
        self.lr = lr
        super().__init__()

    def configure_encoders(self) -> TransformerEncoder | LoraEncoder:
        if self.use_lora:
            base = TransformerEncoder(self.model_path, max_length=self.max_length, trainable=False)
            return LoraEncoder(base, r=8, alpha=16, dropout=0.1, target_modules=("query", "key", "value"))
        return TransformerEncoder(self.model_path, max_length=self.max_length, trainable=True)

    def configure_loss(self) -> MultipleNegativesRankingLoss:
        return MultipleNegativesRankingLoss(scale=20.0)


class LengthChunkedCollator:
    """Prototype of a proposed simtune change: tokenize the batch's 2n texts without padding, sort
    them by token length and pad each run of ``chunk`` texts to its own longest.

    In-batch negatives need random batches, so a batch mixes short questions and long answers;
    padding all 2n texts to the batch's longest (as ``SimilarityCollator`` does) computes about
    twice the tokens that sorted chunks of 32 do on the cloud-FAQ pairs.

    Returns a ``PairBatch`` whose features are {"default": {"chunks": [features...], "order": (2n,)}},
    ``order`` giving the batch position of each row of the concatenated chunks.
    """

    def __init__(self, model, chunk: int = 32) -> None:  # noqa: ANN001 - a SimilarityModel
        from simtune.data import SimilarityCollator

        text_collator = model.encoders["default"].get_collate_fn()
        self.tokenizer, self.max_length = text_collator.tokenizer, text_collator.max_length
        self.base = SimilarityCollator(model, tokenize=False)
        self.chunk = chunk

    def __call__(self, samples):  # noqa: ANN001, ANN204
        import torch

        batch = self.base(samples)
        encoded = self.tokenizer(list(batch.texts), truncation=True, max_length=self.max_length)
        order = sorted(range(len(batch.texts)), key=lambda i: len(encoded["input_ids"][i]))
        chunks = []
        for start in range(0, len(order), self.chunk):
            rows = order[start : start + self.chunk]
            part = {key: [encoded[key][i] for i in rows] for key in encoded}
            chunks.append(dict(self.tokenizer.pad(part, return_tensors="pt")))
        batch.features = {"default": {"chunks": chunks, "order": torch.tensor(order)}}
        return batch


class LengthChunkedRankingModel(FaqRankingModel):
    """``FaqRankingModel`` trained on ``LengthChunkedCollator`` batches (one forward per chunk)."""

    chunk = 32

    def collator(self, tokenize: bool | None = None) -> LengthChunkedCollator:
        return LengthChunkedCollator(self.model, self.chunk)

    def embed(self, batch):  # noqa: ANN001, ANN201
        import torch

        features = batch.features["default"]
        encoder = self.model.encoders["default"]
        sorted_emb = torch.cat([encoder(chunk) for chunk in features["chunks"]])  # (2n, d), sorted by length
        inverse = torch.argsort(features["order"])  # batch position -> sorted row
        return self.model.head(sorted_emb[inverse])  # (2n, d), obj_a then obj_b
