"""Training samples, with Quaterion's names and argument order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SimilarityPairSample:
    """Two objects and how similar they are.

    Args:
        obj_a: First object (a text for the transformer encoders).
        obj_b: Second object.
        score: Similarity in [0, 1]; 1 means the pair matches.
        subgroup: Pairs of the same subgroup are not used as each other's in-batch
            negatives (for example: all products judged for one query).
    """

    obj_a: Any
    obj_b: Any
    score: float = 1.0
    subgroup: int = 0

    def __post_init__(self) -> None:
        score = float(self.score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"SimilarityPairSample.score must be in [0, 1], got {self.score!r}")


@dataclass(frozen=True)
class SimilarityGroupSample:
    """An object and the id of its group; objects of one group are similar.

    Args:
        obj: The object (a text for the transformer encoders).
        group: Integer group id.
    """

    obj: Any
    group: int
