"""Typed batches, the collator that tokenizes once per batch, and pair/group data loaders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from simtune.samples import SimilarityGroupSample, SimilarityPairSample

Features = dict[str, dict[str, Tensor]]


@dataclass
class LengthBuckets:
    """A batch's objects tokenized in runs of similar length, each run padded to its own longest.

    A random batch of short queries and long documents padded as one block spends most of its
    compute on padding; runs of similar length avoid that, with the same embeddings (up to
    float rounding).

    Attributes:
        parts: Features of each run ({encoder name: input tensors}), runs in length order.
        order: (m,) long: the batch position of each row of the concatenated runs.
    """

    parts: list[Features]
    order: Tensor

    def apply(self, fn: Callable[[Features], Tensor]) -> Tensor:
        """``fn`` over each run, rows put back in batch order -> (m, d)."""
        out = torch.cat([fn(part) for part in self.parts])  # (m, d), in run order
        return out[torch.argsort(self.order.to(out.device))]


def apply_features(features: Features | LengthBuckets, fn: Callable[[Features], Tensor]) -> Tensor:
    """``fn`` over collated features, one block or ``LengthBuckets`` -> (m, d) in batch order."""
    return features.apply(fn) if isinstance(features, LengthBuckets) else fn(features)


@dataclass
class PairBatch:
    """n pairs, with the 2n objects encoded together (all obj_a first, then all obj_b).

    Attributes:
        features: {encoder name: input tensors over 2n objects}; ``LengthBuckets`` when the
            collator buckets by length; None when it does not tokenize (the embedding cache
            supplies the vectors).
        texts: The 2n raw objects, obj_a then obj_b (the cache's keys).
        scores: (n,) float similarity scores in [0, 1].
        subgroups: (n,) long subgroup ids (0: no subgroup).
    """

    features: Features | LengthBuckets | None
    texts: list[Any]
    scores: Tensor
    subgroups: Tensor

    @property
    def size(self) -> int:
        return int(self.scores.shape[0])


@dataclass
class GroupBatch:
    """n objects with their group ids.

    Attributes:
        features: {encoder name: input tensors over n objects}, ``LengthBuckets``, or None (cache).
        texts: The n raw objects.
        groups: (n,) long group ids.
    """

    features: Features | LengthBuckets | None
    texts: list[Any]
    groups: Tensor

    @property
    def size(self) -> int:
        return int(self.groups.shape[0])


class SimilarityCollator:
    """Builds ``PairBatch`` or ``GroupBatch`` from samples, tokenizing each batch once.

    Padding is dynamic: batches are tokenized in runs of similar length (``bucket_size``), each
    padded to its own longest text (capped by each encoder's max_length).
    The collator holds only tokenizers, so it pickles into DataLoader workers.

    Args:
        model: A ``SimilarityModel`` (or anything with ``get_collate_fn``) whose encoders
            define the tokenization.
        tokenize: False skips tokenization (features=None), for encoders served by the cache.
        bucket_size: Sort a batch's objects by length and tokenize them in runs of this many,
            each padded to its own longest (``LengthBuckets``): the same embeddings with less
            padding. Batches of at most this many objects stay one block; None always pads the
            whole batch as one block. On the cloud-FAQ pairs (LoRA, batch 64, i.e. 128 texts)
            runs of 32 trained at 34.2 pairs/s against 15.9 for one block on a 2-core CPU, with
            about half the peak memory (bench/bench_train.py, two runs on a quiet machine).

    Example:
        >>> batch = SimilarityCollator(model)([SimilarityPairSample("q", "d")])  # doctest: +SKIP
        >>> batch.features["default"]["input_ids"].shape  # (2, seq): obj_a then obj_b  # doctest: +SKIP
        >>> # more than bucket_size objects: batch.features is LengthBuckets (runs + their order)
    """

    def __init__(self, model: Any, tokenize: bool = True, bucket_size: int | None = 32) -> None:
        if bucket_size is not None and bucket_size < 1:
            raise ValueError(f"bucket_size must be a positive integer or None, got {bucket_size}")
        self.collate_fn: Callable[[list[Any]], Features] | None = model.get_collate_fn() if tokenize else None
        self.bucket_size = bucket_size

    def _features(self, texts: list[Any]) -> Features | LengthBuckets | None:
        if self.collate_fn is None:
            return None
        if self.bucket_size is None or len(texts) <= self.bucket_size:
            return self.collate_fn(texts)
        # characters stand in for tokens: sorting needs no second tokenizer pass
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]) if isinstance(texts[i], str) else 0)
        runs = [order[i : i + self.bucket_size] for i in range(0, len(order), self.bucket_size)]
        return LengthBuckets(
            parts=[self.collate_fn([texts[i] for i in run]) for run in runs],
            order=torch.tensor(order, dtype=torch.long),
        )

    def __call__(self, samples: Sequence[Any]) -> PairBatch | GroupBatch:
        if not samples:
            raise ValueError("cannot collate an empty batch")
        first = samples[0]
        if isinstance(first, SimilarityPairSample):
            return self._pairs(samples)
        if isinstance(first, SimilarityGroupSample):
            return self._groups(samples)
        raise TypeError(
            f"expected SimilarityPairSample or SimilarityGroupSample, got {type(first).__name__}: {first!r}"
        )

    def _pairs(self, samples: Sequence[Any]) -> PairBatch:
        for sample in samples:
            _check_sample(sample, SimilarityPairSample, ("obj_a", "obj_b"))
        texts = [s.obj_a for s in samples] + [s.obj_b for s in samples]
        return PairBatch(
            features=self._features(texts),
            texts=texts,
            scores=torch.tensor([float(s.score) for s in samples], dtype=torch.float32),
            subgroups=torch.tensor([int(s.subgroup) for s in samples], dtype=torch.long),
        )

    def _groups(self, samples: Sequence[Any]) -> GroupBatch:
        for sample in samples:
            _check_sample(sample, SimilarityGroupSample, ("obj",))
        texts = [s.obj for s in samples]
        return GroupBatch(
            features=self._features(texts),
            texts=texts,
            groups=torch.tensor([int(s.group) for s in samples], dtype=torch.long),
        )


def _check_sample(sample: Any, kind: type, fields: tuple[str, ...]) -> None:
    if not isinstance(sample, kind):
        raise TypeError(f"a batch mixes sample types: expected {kind.__name__}, got {sample!r}")
    for field in fields:
        value = getattr(sample, field)
        if not isinstance(value, str) or not value:
            raise TypeError(f"{kind.__name__}.{field} is {value!r} in {sample!r}: expected a non-empty str")


class _SimilarityDataLoader(DataLoader):
    """A DataLoader whose collate function is a ``SimilarityCollator``."""

    def __init__(self, dataset: Dataset | Sequence[Any], collator: SimilarityCollator, **kwargs: Any) -> None:
        # Lightning re-creates loaders passing collate_fn=<our collator>; any other one is a mistake.
        collate_fn = kwargs.pop("collate_fn", None)
        if collate_fn is not None and collate_fn is not collator:
            raise TypeError("pass the collator as `collator`, not `collate_fn`")
        super().__init__(dataset, collate_fn=collator, **kwargs)
        # Lightning rebuilds loaders (to add a DistributedSampler) from their init attributes.
        self.collator = collator


class PairsSimilarityDataLoader(_SimilarityDataLoader):
    """A DataLoader of ``SimilarityPairSample`` that yields ``PairBatch``.

    Args:
        dataset: A map-style dataset (or list) of ``SimilarityPairSample``.
        collator: The ``SimilarityCollator`` built from the model.
        **kwargs: DataLoader arguments (batch_size, shuffle, num_workers, ...).
    """


class GroupSimilarityDataLoader(_SimilarityDataLoader):
    """A DataLoader of ``SimilarityGroupSample`` that yields ``GroupBatch``.

    Group losses need several objects per group in a batch: shuffle over a dataset with
    a few objects per group, or sample by group. Arguments as ``PairsSimilarityDataLoader``.
    """
