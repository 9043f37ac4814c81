"""Reading ESCI judgments from files, checking every row, and normalising them into one table.

Three forms (see ``esci.data.load_esci``, which picks one):

* the official Shopping Queries parquet files (``read_official``);
* one table of (query, product_title, esci_label | relevance_label) pairs (``read_pairs_table``);
* a judgments table plus a products table, joined on ``product_id`` (``read_judgments``).

Every reader returns the same columns (``COLUMNS``) and raises ``EsciDataError`` naming the file,
the row and the field of the first bad row; no row is dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
                  ".parquet": "parquet"}


class EsciDataError(ValueError):
    """A bad row or column in an ESCI input file.

    Attributes:
        file: The file (or data set name) that holds the bad value.
        row: Where it is, as a user finds it: ``"line 7"`` for text files (1-based, header
            included), ``"row index 5"`` (0-based) for parquet files and data sets.
        field: The column.
    """

    def __init__(self, file: str | Path, row: str, field: str, problem: str) -> None:
        self.file, self.row, self.field = str(file), row, field
        super().__init__(f"{file}: {row}, field {field!r}: {problem}")


@dataclass
class Table:
    """One input table with enough bookkeeping to say where each of its rows came from.

    Attributes:
        name: The file path (or ``hf:owner/name[split]``) that errors name.
        frame: The rows; the index is each row's position in the source (0-based), kept through
            filtering so that errors still point at the source row.
        kind: ``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"`` or ``"dataset"``.
        lines: For JSON lines, the 1-based line of each row (CSV lines are found on demand).
        file_columns: For parquet files read in part, every column the file has.
    """

    name: str
    frame: pd.DataFrame
    kind: str
    lines: list[int] | None = None
    file_columns: list[str] | None = None
    _text: dict[str, pd.Series] = field(default_factory=dict, repr=False)

    @cached_property
    def _csv_lines(self) -> list[int]:
        # Only read when an error is reported: quoted fields may span lines, so the line of a
        # record is found by re-reading the file with the csv module (pandas does not keep it).
        starts, end = [], 0
        with open(self.name, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter="\t" if self.kind == "tsv" else ",")
            for record in reader:
                start, end = end + 1, reader.line_num
                if record:  # blank lines are skipped by pandas too
                    starts.append(start)
        return starts[1:]

    def where(self, position: int) -> str:
        """Where the row at source position ``position`` is, in the user's terms."""
        if self.kind in ("csv", "tsv"):
            return f"line {self._csv_lines[position]}"
        if self.kind == "jsonl":
            return f"line {self.lines[position]}"
        return f"row index {position}"

    def header(self) -> str:
        """Where a missing column is reported."""
        return {"csv": "line 1 (header)", "tsv": "line 1 (header)",
                "jsonl": f"line {self.lines[0] if self.lines else 1}"}.get(self.kind, "schema")

    def columns(self) -> list[str]:
        """Every column of the source (parquet files may have been read in part)."""
        return list(self.file_columns or self.frame.columns)

    def require(self, *fields: str) -> None:
        """Raise ``EsciDataError`` for the first of ``fields`` that is not a column."""
        for name in fields:
            if name not in self.frame.columns:
                raise EsciDataError(self.name, self.header(), name,
                                    f"column is missing; found columns {self.columns()}")

    def text(self, name: str) -> pd.Series:
        """Column ``name`` as stripped ``str`` cells, ``""`` where missing; ``""`` if no column."""
        if name not in self._text:
            if name not in self.frame.columns:
                return pd.Series("", index=self.frame.index, dtype=object)
            column = self.frame[name]
            missing = column.isna()
            values = column.astype(object).where(~missing, "").map(str).str.strip()
            self._text[name] = values.astype(object)
        return self._text[name]

    def fail(self, bad: pd.Series, name: str, problem: str) -> None:
        """Raise for the first row where boolean ``bad`` is true (a no-op when none is)."""
        if bad.any():
            rows = bad[bad].index
            more = f" ({len(rows) - 1} more rows like it)" if len(rows) > 1 else ""
            value = self.text(name).loc[rows[0]]
            raise EsciDataError(self.name, self.where(int(rows[0])), name,
                                problem.format(value=value) + more)

    def keep(self, mask: pd.Series) -> None:
        """Keep only the rows where ``mask`` is true (filters chosen by the config)."""
        self.frame = self.frame[mask]
        self._text = {k: v[mask] for k, v in self._text.items()}


def read_table(path: str | Path, columns: list[str] | None = None) -> Table:
    """Read a CSV, TSV, JSON lines or parquet file (by its suffix) with every cell kept as text.

    Args:
        path: The file.
        columns: For parquet, the columns to read (those present); ``None`` reads all.
    """
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unknown table format {path.suffix!r}; expected one of "
                         f"{sorted(TABLE_SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if kind == "parquet":
        import pyarrow.parquet as pq

        present = pq.read_schema(path).names
        wanted = present if columns is None else [c for c in columns if c in present]
        # Missing wanted columns are reported by Table.require with the full list of columns.
        return Table(str(path), pd.read_parquet(path, columns=wanted), kind, file_columns=present)
    if kind == "jsonl":
        return _read_jsonl(path)
    try:
        frame = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", dtype=str,
                            keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as {kind.upper()}: {error}") from error
    return Table(str(path), frame, kind)


def _read_jsonl(path: Path) -> Table:
    records, lines = [], []
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: line {number}: not valid JSON ({error})") from error
            if not isinstance(record, dict):
                raise TypeError(f"{path}: line {number}: expected a JSON object, got "
                                 f"{type(record).__name__}")
            records.append(record)
            lines.append(number)
    return Table(str(path), pd.DataFrame.from_records(records), "jsonl", lines)


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
    position = pd.Series(product_key.index, index=product_key.to_numpy())
    found = key.map(position)
    judgments.fail(found.isna(), "product_id",
                   f"{{value!r}} is not in the products file {products.name}")
    used = found.astype(np.int64).unique()
    titles = products.text("product_title")
    products.fail((titles == "") & titles.index.isin(used), "product_title",
                  "is empty; expected a non-empty value")
    rows = found.astype(np.int64).to_numpy()
    return pd.DataFrame({"product_title": titles.loc[rows].to_numpy(),
                         "product_description": products.text("product_description").loc[rows]
                         .to_numpy()}, index=key.index)


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
