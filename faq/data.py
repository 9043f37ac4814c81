"""The cloud-FAQ dataset: JSON lines of {"source", "question", "answer"}, and the tutorial's split.

The split is the Quaterion tutorial's: ``train_test_split(df, stratify=df.source, random_state=42)``
(25% validation), which gives 6,373 training and 2,125 validation pairs on the published file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simtune.samples import SimilarityPairSample

# The address given by the Quaterion tutorial and by the dataset's repository
# (github.com/qdrant/dataset-cloud-platform-faq).
DATA_URL = "https://storage.googleapis.com/demo-cloud-faq/dataset/cloud_faq_dataset.jsonl"
DEFAULT_PATH = Path("data") / "cloud_faq_dataset.jsonl"
REQUIRED = ("question", "answer")


def read_faq(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a cloud-FAQ JSON-lines file.

    Every non-blank line must be a JSON object with non-empty string fields ``question`` and
    ``answer``; ``source`` (used to stratify the split) is optional but, if present on one line,
    must be a non-empty string on every line.

    Returns:
        One dict per line with at least "question", "answer" and "source" (None when absent).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a line is not JSON, or a field is missing, empty or not a string; the message
            names the file, the line number (1-based) and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cloud-FAQ data file {path} does not exist")
    rows: list[dict[str, Any]] = []
    with_source: int | None = None  # line of the first row with a source, or -line without
    with path.open(encoding="utf-8") as fd:
        for number, line in enumerate(fd, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {number}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
            for field in REQUIRED:
                if field not in record:
                    raise ValueError(f"{path}, line {number}: missing field '{field}'")
                value = record[field]
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(
                        f"{path}, line {number}: field '{field}' must be a non-empty string, got {value!r}"
                    )
            source = record.get("source")
            has = source is not None
            if has and (not isinstance(source, str) or not source.strip()):
                raise ValueError(f"{path}, line {number}: field 'source' must be a non-empty string, got {source!r}")
            if with_source is None:
                with_source = number if has else -number
            elif (with_source > 0) != has:
                raise ValueError(
                    f"{path}, line {number}: field 'source' is {'present' if has else 'missing'} here but "
                    f"{'missing' if has else 'present'} on line {abs(with_source)}; the split stratifies "
                    "by source, so give it on every line or on none"
                )
            rows.append({**record, "source": source})
    if not rows:
        raise ValueError(f"{path}: no question/answer lines")
    return rows


def split(rows: list[dict[str, Any]], random_state: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tutorial's train/validation split (25% validation, stratified by source).

    Returns:
        (train rows, validation rows), in the order sklearn's ``train_test_split`` gives.
    """
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.DataFrame(rows)
    stratify = df.source if df.source.notna().all() else None
    try:
        train, val = train_test_split(df, stratify=stratify, random_state=random_state)
    except ValueError as err:
        raise ValueError(f"cannot split {len(df)} rows stratified by source: {err}") from err
    return train.to_dict("records"), val.to_dict("records")


def to_pairs(rows: list[dict[str, Any]]) -> list[SimilarityPairSample]:
    """(question, answer) pairs; rows sharing a question share a subgroup, so that in
    MultipleNegativesRankingLoss one's answer is not a negative for the other."""
    subgroup: dict[str, int] = {}
    return [
        SimilarityPairSample(
            row["question"], row["answer"], score=1.0,
            subgroup=subgroup.setdefault(row["question"], len(subgroup) + 1),
        )
        for row in rows
    ]  # fmt: skip


def ensure_data(path: str | Path | None = None, url: str = DATA_URL) -> Path:
    """The data file: ``path`` if given (must exist), else ``data/cloud_faq_dataset.jsonl``,
    downloaded from ``url`` when missing."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--data {path}: no such file")
        return path
    path = DEFAULT_PATH
    if path.is_file():
        return path
    import urllib.error
    import urllib.request

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    print(f"downloading {url} -> {path}")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, tmp.open("wb") as out:
            while chunk := response.read(1 << 16):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(
            f"{path} is missing and could not be downloaded from {url} ({err}). If this machine is "
            f"offline, copy the file there by hand, or pass --data FILE"
        ) from err
    tmp.replace(path)
    return path
