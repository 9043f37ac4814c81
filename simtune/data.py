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
class PairBatch:
    """n pairs, with the 2n objects encoded together (all obj_a first, then all obj_b).

    Attributes:
        features: {encoder name: input tensors over 2n objects}, or None when the collator
            does not tokenize (the embedding cache supplies the vectors).
        texts: The 2n raw objects, obj_a then obj_b (the cache's keys).
        scores: (n,) float similarity scores in [0, 1].
        subgroups: (n,) long subgroup ids (0: no subgroup).
    """

    features: Features | None
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
        features: {encoder name: input tensors over n objects}, or None (cache).
        texts: The n raw objects.
        groups: (n,) long group ids.
    """

    features: Features | None
    texts: list[Any]
    groups: Tensor

    @property
    def size(self) -> int:
        return int(self.groups.shape[0])


class SimilarityCollator:
    """Builds ``PairBatch`` or ``GroupBatch`` from samples, tokenizing each batch once.

    Padding is dynamic (the longest text of the batch, capped by each encoder's max_length).
    The collator holds only tokenizers, so it pickles into DataLoader workers.

    Args:
        model: A ``SimilarityModel`` (or anything with ``get_collate_fn``) whose encoders
            define the tokenization.
        tokenize: False skips tokenization (features=None), for encoders served by the cache.

    Example:
        >>> batch = SimilarityCollator(model)([SimilarityPairSample("q", "d")])  # doctest: +SKIP
        >>> batch.features["default"]["input_ids"].shape  # (2, seq): obj_a then obj_b  # doctest: +SKIP
    """

    def __init__(self, model: Any, tokenize: bool = True) -> None:
        self.collate_fn: Callable[[list[Any]], Features] | None = model.get_collate_fn() if tokenize else None

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
            features=self.collate_fn(texts) if self.collate_fn else None,
            texts=texts,
            scores=torch.tensor([float(s.score) for s in samples], dtype=torch.float32),
            subgroups=torch.tensor([int(s.subgroup) for s in samples], dtype=torch.long),
        )

    def _groups(self, samples: Sequence[Any]) -> GroupBatch:
        for sample in samples:
            _check_sample(sample, SimilarityGroupSample, ("obj",))
        texts = [s.obj for s in samples]
        return GroupBatch(
            features=self.collate_fn(texts) if self.collate_fn else None,
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
