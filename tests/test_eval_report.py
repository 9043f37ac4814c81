"""Report writer: metrics.json written atomically and readable, ROC PNG for pair evaluations."""

from __future__ import annotations

import json

import pytest
import torch

from simtune.eval import write_json_atomic, write_report


def test_write_report_metrics_and_roc(tmp_path):
    scores = torch.tensor([0.9, 0.7, 0.4, 0.2, 0.65])
    labels = torch.tensor([1, 1, 0, 0, 0])
    paths = write_report(
        tmp_path / "run", {"roc_auc": 1.0, "mrr": float("nan")}, (scores, labels), {"model": "abc"}
    )
    data = json.loads(paths["metrics"].read_text())
    assert data == {
        "metrics": {"roc_auc": 1.0, "mrr": None},
        "model": "abc",
    }  # NaN is written as null
    assert paths["roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "metrics.json",
        "roc.png",
    ]  # no temp files


def test_write_json_atomic_keeps_old_file_on_failure(tmp_path):
    path = write_json_atomic(tmp_path / "metrics.json", {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})  # not JSON-able: fails while writing the temp file
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_retrieval_report_has_no_roc(tmp_path):
    assert set(write_report(tmp_path, {"precision@1": 0.5})) == {"metrics"}
