"""Write an evaluation's results: ``metrics.json`` and, for pair classification, a ROC curve PNG."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor


def _jsonable(value: Any) -> Any:
    """Floats that JSON can hold: NaN and inf become None (json.dumps would write invalid NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON to a temporary file in the same folder, then rename it over ``path``.

    A reader never sees a half-written file, and a crash leaves the old file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(data), f, indent=2, sort_keys=True, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_report(
    out_dir: str | Path,
    metrics: dict[str, float],
    pair_scores: tuple[Tensor, Tensor] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json`` and, when ``pair_scores`` is given, ``roc.png``.

    Args:
        out_dir: Folder to write into (created if missing).
        metrics: ``{name: value}`` as returned by ``Evaluator.evaluate``; NaN is written as null.
        pair_scores: (scores (n,), labels (n,)) from
            :meth:`~simtune.eval.samplers.PairClassificationSampler.pair_scores`, for the ROC curve.
        extra: More JSON-able fields stored beside the metrics (model fingerprint, dataset, ...).

    Returns:
        ``{"metrics": path}`` and, with pair scores, ``{"roc": path}``.
    """
    out_dir = Path(out_dir)
    paths = {
        "metrics": write_json_atomic(
            out_dir / "metrics.json", {"metrics": metrics, **(extra or {})}
        )
    }
    if pair_scores is not None:
        paths["roc"] = plot_roc(
            *pair_scores,
            out_dir / "roc.png",
            title=f"ROC AUC {metrics.get('roc_auc', float('nan')):.4f}",
        )
    return paths


def plot_roc(scores: Tensor, labels: Tensor, path: str | Path, title: str = "ROC") -> Path:
    """Plot the ROC curve of pair scores (n,) against 0/1 labels (n,) to a PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; set here, never at import time
    import matplotlib.pyplot as plt

    from simtune.eval.pair_metrics import binary_curve

    tp, fp, _ = binary_curve(scores, labels)
    n_pos = int(torch.as_tensor(labels).sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("plot_roc: the ROC curve needs both positive and negative pairs")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    try:
        ax.plot((fp / n_neg).numpy(), (tp / n_pos).numpy(), lw=1.5, label="model")
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8, label="chance")
        ax.set(
            xlabel="false positive rate",
            ylabel="true positive rate",
            title=title,
            xlim=(0, 1),
            ylim=(0, 1),
        )
        ax.legend(loc="lower right")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
