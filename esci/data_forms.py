"""Reading ESCI judgments from files, checking every row, and normalising them into one table.

Three forms (see ``esci.data.load_esci``, which picks one):

* the official Shopping Queries parquet files (``read_official``);
* one table of (query, product_title, esci_label | relevance_label) pairs (``read_pairs_table``);
* a judgments table plus a products table, joined on ``product_id`` (``read_judgments``).

Every reader returns the same columns (``COLUMNS``) and raises ``EsciDataError`` naming the file,
the row and the field of the first bad row; no row is dropped silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from esci.tables import EsciDataError, Table, read_table

if TYPE_CHECKING:
    from esci.data import EsciDataConfig

COLUMNS = (
    "query_id", "query", "product_id", "product_title", "product_description", "label", "gain",
    "score",
)
ESCI_LABELS = {
    "E": "E", "EXACT": "E", "S": "S", "SUBSTITUTE": "S",
    "C": "C", "COMPLEMENT": "C", "I": "I", "IRRELEVANT": "I",
}


def _nonempty(table: Table, name: str) -> pd.Series:
    values = table.text(name)
    table.fail(values == "", name, "is empty; expected a non-empty value")
    return values


def _int_ids(table: Table, name: str) -> pd.Series:
    values = _nonempty(table, name)
    numbers = pd.to_numeric(values, errors="coerce")
    table.fail(numbers.isna() | (numbers % 1 != 0), name, "{value!r} is not an integer id")
    return numbers.astype(np.int64)


def _labels(table: Table, name: str, config: EsciDataConfig, numeric: bool) -> pd.DataFrame:
    """Columns label, gain and score from an ESCI letter column or a numeric relevance column."""
    raw = _nonempty(table, name)
    if numeric:
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        table.fail(values.isna() | ~np.isfinite(values) | (values < 0), name,
                   "{value!r} is not a relevance; expected a non-negative number")
        score = (values >= config.relevance_threshold).astype(float)
        return pd.DataFrame({"label": raw, "gain": values, "score": score})
    letters = raw.str.upper().map(ESCI_LABELS)
    table.fail(letters.isna(), name, "unknown label {value!r}; expected one of E, S, C, I "
               "(or Exact, Substitute, Complement, Irrelevant)")
    gains = config.gains()
    return pd.DataFrame({"label": letters.astype(object), "gain": letters.map(gains).astype(float),
                         "score": letters.isin(config.relevant_labels).astype(float)})


def text_id(text: str) -> int:
    """A stable 48-bit integer id for a text (for queries that come without an id)."""
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:6], "big")


def _assemble(query_id: pd.Series, query: pd.Series, product_id: pd.Series, title: pd.Series,
              description: pd.Series, labels: pd.DataFrame) -> pd.DataFrame:
    """The normalised table (``COLUMNS``) from aligned columns, with a fresh 0-based index."""
    frame = pd.DataFrame({"query_id": query_id, "query": query, "product_id": product_id,
                          "product_title": title, "product_description": description})
    frame = pd.concat([frame, labels], axis=1)
    for name in ("query", "product_id", "product_title", "product_description", "label"):
        frame[name] = frame[name].astype(str)
    return frame.loc[:, list(COLUMNS)].reset_index(drop=True)


def read_pairs_table(table: Table, config: EsciDataConfig) -> pd.DataFrame:
    """Normalise one table of (query, product_title, esci_label or relevance_label) rows.

    Optional ``query_id`` (integers) and ``product_id`` columns are used when present; otherwise
    ids are derived from the texts with ``text_id`` (queries) and a title hash (products), so one
    text gets one id in every file.
    """
    table.require("query", "product_title")
    numeric = "esci_label" not in table.frame.columns
    if numeric and "relevance_label" not in table.frame.columns:
        raise EsciDataError(table.name, table.header(), "esci_label",
                            "column is missing (nor is there a relevance_label column); found "
                            f"columns {table.columns()}")
    query, title = _nonempty(table, "query"), _nonempty(table, "product_title")
    labels = _labels(table, "relevance_label" if numeric else "esci_label", config, numeric)
    if "query_id" in table.frame.columns:
        query_id = _int_ids(table, "query_id")
    else:
        query_id = query.map(text_id).astype(np.int64)
    if "product_id" in table.frame.columns:
        product_id = _nonempty(table, "product_id")
    else:
        product_id = title.map(lambda t: "t" + hashlib.sha1(t.encode()).hexdigest()[:12])
    return _assemble(query_id, query, product_id, title, table.text("product_description"), labels)


def _join_products(judgments: Table, products: Table, key: pd.Series,
                   product_key: pd.Series) -> pd.DataFrame:
    """Title and description for each judgment row, checking ids exist and titles are non-empty."""
    duplicated = product_key.duplicated()
    products.fail(duplicated, "product_id", "{value!r} appears in more than one row")
    found = pd.Index(product_key).get_indexer(key)  # (n_judgments,) positions; -1 = not found
    judgments.fail(pd.Series(found < 0, index=key.index), "product_id",
                   f"{{value!r}} is not in the products file {products.name}")
    titles = products.text("product_title")
    used = np.zeros(len(titles), dtype=bool)
    used[found] = True
    products.fail(used & (titles == ""), "product_title", "is empty; expected a non-empty value")
    return pd.DataFrame({"product_title": titles.iloc[found].to_numpy(),
                         "product_description": products.text("product_description")
                         .iloc[found].to_numpy()}, index=key.index)


def read_judgments(judgments: Table, products: Table, config: EsciDataConfig) -> pd.DataFrame:
    """Normalise a judgments table (query_id, query, product_id, esci_label) and a products table
    (product_id, product_title[, product_description]) joined on ``product_id``."""
    judgments.require("query_id", "query", "product_id", "esci_label")
    products.require("product_id", "product_title")
    query_id, query = _int_ids(judgments, "query_id"), _nonempty(judgments, "query")
    product_id = _nonempty(judgments, "product_id")
    labels = _labels(judgments, "esci_label", config, numeric=False)
    joined = _join_products(judgments, products, product_id, _nonempty(products, "product_id"))
    return _assemble(query_id, query, product_id, joined["product_title"],
                     joined["product_description"], labels)


EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"
_EXAMPLE_COLUMNS = ["query_id", "query", "product_id", "product_locale", "esci_label",
                    "small_version", "split"]
_PRODUCT_COLUMNS = ["product_id", "product_title", "product_description", "product_locale"]


def read_official(folder: str | Path, config: EsciDataConfig) -> pd.DataFrame:
    """Normalise the official Shopping Queries files in ``folder``, filtered as ``config`` says.

    Products are matched on (product_id, product_locale). When the rows kept span several
    locales, product ids become ``"<locale>:<product_id>"`` because one ASIN has a title per locale.
    """
    folder = Path(folder)
    examples = read_table(folder / EXAMPLES_FILE, _EXAMPLE_COLUMNS)
    examples.require(*_EXAMPLE_COLUMNS)
    filters = []
    if config.small_version_only:
        examples.keep(pd.to_numeric(examples.frame["small_version"], errors="coerce") == 1)
        filters.append("small_version=1")
    if config.locales:
        examples.keep(examples.text("product_locale").isin(config.locales))
        filters.append(f"product_locale in {list(config.locales)}")
    if config.official_split:
        examples.keep(examples.text("split") == config.official_split)
        filters.append(f"split={config.official_split}")
    if examples.frame.empty:
        raise ValueError(f"{examples.name}: no rows left after the filters {', '.join(filters)}")
    products = read_table(folder / PRODUCTS_FILE, _PRODUCT_COLUMNS)
    products.require("product_id", "product_title", "product_locale")
    if config.locales:
        products.keep(products.text("product_locale").isin(config.locales))
    query_id, query = _int_ids(examples, "query_id"), _nonempty(examples, "query")
    product_id, locale = _nonempty(examples, "product_id"), _nonempty(examples, "product_locale")
    labels = _labels(examples, "esci_label", config, numeric=False)
    joined = _join_products(examples, products, locale + ":" + product_id,
                            products.text("product_locale") + ":"
                            + _nonempty(products, "product_id"))
    if locale.nunique() > 1:
        product_id = locale + ":" + product_id
    return _assemble(query_id, query, product_id, joined["product_title"],
                     joined["product_description"], labels)
