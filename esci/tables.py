"""Input tables that remember where each row came from, so errors can name file, row and field."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

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
                return pd.Series("", index=self.frame.index, dtype=str)
            column = self.frame[name]
            missing = column.isna()
            values = column.astype(str)  # vectorised; NaN cells become "nan" here, so mask them
            if missing.any():
                values = values.where(~missing, "")
            self._text[name] = values.str.strip()
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
