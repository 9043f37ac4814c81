"""ESCI judged pairs: one loader for every form of the data, a split by query, and the conversions
to simtune samples, a product catalogue for indexing, and graded relevance for nDCG.

The normalised table (a ``pandas.DataFrame``) has one row per judged pair:

=====================  ======================================================================
query_id               int64; the source's id, or a stable hash of the query text
query                  the query text
product_id             str; the source's id, or ``"t<hash of the title>"``
product_title          str, non-empty
product_description    str, possibly empty
label                  ``E``/``S``/``C``/``I``, or a numeric relevance as written (e.g. ``"1"``)
gain                   float; graded gain for nDCG (E=3, S=2, C=1, I=0 by default)
score                  float 0.0 or 1.0; relevant (E and S by default) or not
=====================  ======================================================================
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from esci.data_forms import (
    COLUMNS,
    EXAMPLES_FILE,
    PRODUCTS_FILE,
    read_judgments,
    read_official,
    read_pairs_table,
)
from esci.tables import TABLE_SUFFIXES, EsciDataError, Table, read_table

if TYPE_CHECKING:
    from simtune.samples import SimilarityPairSample

__all__ = [
    "COLUMNS", "DEMO_DATA", "EsciDataConfig", "EsciDataError", "Product", "load_esci",
    "split_by_query", "to_catalogue", "to_pair_samples", "to_qrels",
]

DEMO_DATA = Path(__file__).resolve().parents[1] / "data" / "demo" / "esci_demo.csv"
_HF_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class EsciDataConfig:
    """How ESCI judgments are read, labelled and split."""

    relevant_labels: tuple[str, ...] = field(
        default=("E", "S"), metadata=_help("ESCI labels whose pairs get score 1; the others get 0"))
    gain_exact: float = field(default=3.0, metadata=_help("nDCG gain of an E (exact) pair"))
    gain_substitute: float = field(default=2.0, metadata=_help("nDCG gain of an S pair"))
    gain_complement: float = field(default=1.0, metadata=_help("nDCG gain of a C pair"))
    gain_irrelevant: float = field(default=0.0, metadata=_help("nDCG gain of an I pair"))
    relevance_threshold: float = field(
        default=1.0, metadata=_help("numeric relevance labels at or above this get score 1"))
    val_fraction: float = field(
        default=0.2, metadata=_help("fraction of queries held out for validation"))
    seed: int = field(default=0, metadata=_help("seed of the split by query"))
    small_version_only: bool = field(
        default=True, metadata=_help("official files: keep only rows with small_version == 1"))
    locales: tuple[str, ...] = field(
        default=("us",), metadata=_help("official files: product_locale values kept; empty = all"))
    official_split: str | None = field(
        default="train", metadata=_help("official files: split kept (train or test); None = both"))
    hf_split: str = field(default="train", metadata=_help("split of a Hugging Face data set"))

    def __post_init__(self) -> None:
        self.relevant_labels = tuple(str(x).strip().upper() for x in self.relevant_labels)
        unknown = [x for x in self.relevant_labels if x not in ("E", "S", "C", "I")]
        if unknown or not self.relevant_labels:
            raise ValueError(f"EsciDataConfig.relevant_labels must be a non-empty subset of "
                             f"E, S, C, I; got {self.relevant_labels!r}")
        for name in ("gain_exact", "gain_substitute", "gain_complement", "gain_irrelevant",
                     "relevance_threshold"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"EsciDataConfig.{name} must be a finite number >= 0; "
                                 f"got {value!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"EsciDataConfig.val_fraction must be in [0, 1); got "
                             f"{self.val_fraction!r}")
        if not isinstance(self.seed, int):
            raise TypeError(f"EsciDataConfig.seed must be an int; got {self.seed!r}")
        self.locales = tuple(self.locales)
        if any(not isinstance(x, str) or not x for x in self.locales):
            raise ValueError(f"EsciDataConfig.locales must be non-empty strings (such as 'us', "
                             f"'es', 'jp'); got {self.locales!r}")
        if self.official_split not in (None, "train", "test"):
            raise ValueError(f"EsciDataConfig.official_split must be 'train', 'test' or None; "
                             f"got {self.official_split!r}")
        if not isinstance(self.hf_split, str) or not self.hf_split:
            raise ValueError(f"EsciDataConfig.hf_split must be a split name; got {self.hf_split!r}")

    def gains(self) -> dict[str, float]:
        """The nDCG gain of each ESCI label."""
        return {"E": float(self.gain_exact), "S": float(self.gain_substitute),
                "C": float(self.gain_complement), "I": float(self.gain_irrelevant)}


def load_esci(source: str | os.PathLike | tuple[str | os.PathLike, str | os.PathLike] | None = None,
              config: EsciDataConfig | None = None) -> pd.DataFrame:
    """Load judged pairs from any supported form into the normalised table (see module doc).

    Args:
        source: What to read; dispatched on what it is:

            * ``None``: the hand-written demo set ``data/demo/esci_demo.csv``;
            * a folder holding ``shopping_queries_dataset_examples.parquet`` and
              ``shopping_queries_dataset_products.parquet`` (official files, filtered by config);
            * a folder holding ``judgments.csv`` and ``products.csv``, or a
              ``(judgments, products)`` pair of table files;
            * a folder holding exactly one table file, or one table file (CSV, TSV, JSON lines or
              parquet) with query, product_title and esci_label or relevance_label columns;
            * a Hugging Face data set name such as ``"smangrul/amazon_esci"`` (needs a network or
              the local cache).
        config: Labels, gains and filters; defaults to ``EsciDataConfig()``.

    Returns:
        The normalised table, one row per judged pair, in source order.

    Raises:
        EsciDataError: A row or column is bad; the message names file, row and field.
        FileNotFoundError: ``source`` does not exist and is not a data set name.
        ConnectionError: A Hugging Face data set cannot be fetched (offline).
    """
    config = config or EsciDataConfig()
    if source is None:
        if not DEMO_DATA.is_file():
            raise FileNotFoundError(f"the demo data {DEMO_DATA} is missing (it ships with the "
                                    "repository, not with an installed wheel); pass a source")
        source = DEMO_DATA
    if isinstance(source, (tuple, list)):
        if len(source) != 2:
            raise ValueError(f"expected a (judgments, products) pair of files, got {source!r}")
        return read_judgments(read_table(source[0]), read_table(source[1]), config)
    path = Path(source)
    if path.is_dir():
        return _load_folder(path, config)
    if path.is_file():
        if path.name == EXAMPLES_FILE:
            return read_official(path.parent, config)
        return read_pairs_table(read_table(path), config)
    if isinstance(source, str) and _HF_NAME.match(source) and path.suffix not in TABLE_SUFFIXES:
        return load_hf_dataset(source, config)
    raise FileNotFoundError(f"{source}: no such file or folder (nor a Hugging Face data set name "
                            "of the form owner/name)")


def _load_folder(folder: Path, config: EsciDataConfig) -> pd.DataFrame:
    if (folder / EXAMPLES_FILE).is_file() and (folder / PRODUCTS_FILE).is_file():
        return read_official(folder, config)
    for suffix in TABLE_SUFFIXES:
        judgments, products = folder / f"judgments{suffix}", folder / f"products{suffix}"
        if judgments.is_file() and products.is_file():
            return read_judgments(read_table(judgments), read_table(products), config)
    tables = sorted(p for p in folder.iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
    if len(tables) == 1:
        return read_pairs_table(read_table(tables[0]), config)
    raise FileNotFoundError(
        f"{folder}: expected {EXAMPLES_FILE} and {PRODUCTS_FILE}, or judgments.csv and "
        f"products.csv, or exactly one table file; found {[p.name for p in tables]}")


def load_hf_dataset(name: str, config: EsciDataConfig | None = None) -> pd.DataFrame:
    """Load a Hugging Face data set of (query, product_title, relevance_label or esci_label) rows.

    Raises:
        ConnectionError: It is not in the local cache and the hub cannot be reached (for example
            because ``HF_HUB_OFFLINE=1``).
    """
    config = config or EsciDataConfig()
    from datasets import load_dataset

    try:
        dataset = load_dataset(name, split=config.hf_split)
    except Exception as error:  # datasets raises many types for "cannot fetch"
        offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes")
                      for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
        why = ("HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set and it is not in the local cache"
               if offline else f"{type(error).__name__}: {error}")
        raise ConnectionError(
            f"cannot load Hugging Face data set {name!r} (split {config.hf_split!r}): {why}. "
            "With a network, unset HF_HUB_OFFLINE; otherwise pass a local CSV, JSON lines or "
            "parquet file with columns query, product_title and relevance_label or esci_label."
        ) from error
    table = Table(f"hf:{name}[{config.hf_split}]", dataset.to_pandas(), "dataset")
    return read_pairs_table(table, config)


def _query_key(query: str) -> str:
    return " ".join(str(query).casefold().split())


def _query_rank(key: str, seed: int) -> str:
    # A per-query hash, so a query's side of the split does not depend on which others exist.
    return hashlib.sha1(f"{seed}\x1f{key}".encode()).hexdigest()


def split_by_query(df: pd.DataFrame, val_fraction: float = 0.2,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the table into train and validation parts with no query in both.

    Queries are grouped by their text (case and spacing folded, so two ids of one text cannot
    leak across) and ordered by a seeded hash; the first ``round(val_fraction * n_queries)`` go to
    validation (at least one when ``val_fraction > 0`` and there are two queries or more).

    Returns:
        ``(train, val)``, each in the input's row order with a fresh index.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction!r}")
    keys = df["query"].map(_query_key)
    unique = sorted(keys.unique(), key=lambda k: _query_rank(k, seed))
    n_val = round(val_fraction * len(unique))
    if val_fraction > 0 and len(unique) > 1:
        n_val = min(max(n_val, 1), len(unique) - 1)
    in_val = keys.isin(set(unique[:n_val]))
    return df[~in_val].reset_index(drop=True), df[in_val].reset_index(drop=True)


def to_pair_samples(df: pd.DataFrame) -> list[SimilarityPairSample]:
    """One ``SimilarityPairSample(query, title, score, subgroup)`` per row; subgroup numbers the
    queries densely from 1 in order of appearance, since ESCI has a query_id 0 and subgroup 0
    means "none" to the ranking losses (a query's other products would become its negatives)."""
    from simtune.samples import SimilarityPairSample

    number = {qid: i + 1 for i, qid in enumerate(dict.fromkeys(df["query_id"]))}
    return [SimilarityPairSample(q, t, float(s), number[g]) for q, t, s, g in
            zip(df["query"], df["product_title"], df["score"], df["query_id"], strict=True)]


@dataclass(frozen=True)
class Product:
    """A catalogue entry to index: the text to embed and the payload to store beside it."""

    product_id: str
    title: str
    payload: dict[str, Any]


def to_catalogue(df: pd.DataFrame) -> list[Product]:
    """The distinct products of the table, in order of first appearance.

    Raises:
        ValueError: One product id has two different titles.
    """
    products = df.drop_duplicates(["product_id", "product_title"])
    clash = products["product_id"].duplicated()
    if clash.any():
        raise ValueError(f"product_id {products['product_id'][clash].iloc[0]!r} has more than "
                         "one title in the table")
    catalogue = []
    for pid, title, description in zip(products["product_id"], products["product_title"],
                                       products["product_description"], strict=True):
        payload = {"product_id": pid, "product_title": title}
        if description:
            payload["product_description"] = description
        catalogue.append(Product(pid, title, payload))
    return catalogue


def to_qrels(df: pd.DataFrame) -> dict[int, dict[str, float]]:
    """Graded relevance per query: ``{query_id: {product_id: gain}}`` (the highest gain when a
    pair is judged twice). Products not listed for a query have gain 0."""
    qrels: dict[int, dict[str, float]] = {}
    for qid, pid, gain in zip(df["query_id"], df["product_id"], df["gain"], strict=True):
        judged = qrels.setdefault(int(qid), {})
        judged[pid] = max(float(gain), judged.get(pid, float("-inf")))
    return qrels
