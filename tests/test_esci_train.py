"""esci.train, esci.index, esci.search on a tiny random BERT: the config and command line,
resuming after SIGKILL, and the end-to-end path train -> index -> search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from esci.cli import parse_config
from esci.config import TrainConfig
from esci.data import DEMO_DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """The first 12 queries of the demo set (96 judged pairs)."""
    table = pd.read_csv(DEMO_DATA)
    keep = list(dict.fromkeys(table["query"]))[:12]
    path = tmp_path_factory.mktemp("esci_tiny") / "pairs.csv"
    table[table["query"].isin(keep)].to_csv(path, index=False)
    return path


def _options(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["--model_name_or_path", str(model), "--dataset_name", str(data),
            "--output_dir", str(out), "--mixed_precision", "no", "--max_length", "16",
            "--learning_rate", "1e-3", *extra]


def test_cli_builds_config_from_dataclass():
    cfg = parse_config(TrainConfig, ["--no-use_peft", "--lora_target_modules", "query", "value",
                                     "--max_train_steps", "none", "--checkpointing_steps", "7"])
    assert cfg.use_peft is False
    assert cfg.lora_target_modules == ("query", "value")
    assert cfg.max_train_steps is None and cfg.checkpointing_steps == "7"
    assert cfg.lightning_precision == "bf16-mixed"


@pytest.mark.parametrize("field, value, words", [
    ("learning_rate", 0.0, "learning_rate"),
    ("checkpointing_steps", "often", "checkpointing_steps"),
    ("per_device_train_batch_size", 0, "per_device_train_batch_size"),
    ("val_fraction", 0.0, "val_fraction"),
])
def test_config_names_the_bad_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**{field: value})


def test_fp16_on_cpu_fails_clearly():
    import torch

    if torch.cuda.is_available():
        pytest.skip("fp16 is valid with CUDA")
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        TrainConfig(mixed_precision="fp16")


def test_bad_flag_exits_with_the_field(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_config(TrainConfig, ["--lora_dropout", "1.5"])
    assert exit_info.value.code == 2
    assert "lora_dropout" in capsys.readouterr().err


def _run_train(options: list[str], **popen) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "esci.train", *options], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def test_resume_after_sigkill(tiny_bert_dir, tiny_data, tmp_path):
    """Kill training (SIGKILL) once a checkpoint exists, resume from 'latest': the run ends at
    the same global step as an uninterrupted one, and its servable loads."""
    from simtune.model import SimilarityModel

    out = tmp_path / "run"
    # 80 training pairs at batch 4: 20 steps per epoch, 2 epochs = 40 optimizer steps.
    options = _options(tiny_bert_dir, tiny_data, out, "--per_device_train_batch_size", "4",
                       "--num_train_epochs", "2", "--checkpointing_steps", "3")
    first = _run_train(options)
    deadline = time.monotonic() + 120
    while not list((out / "checkpoints").glob("*.ckpt")):
        if first.poll() is not None:
            pytest.fail(f"training ended before a checkpoint appeared:\n{first.stdout.read()}")
        if time.monotonic() > deadline:
            first.kill()
            pytest.fail("no checkpoint within 120 s")
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    assert not (out / "servable").exists()

    second = _run_train([*options, "--resume_from_checkpoint", "latest"])
    log, _ = second.communicate(timeout=240)
    assert second.returncode == 0, log
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] is not None
    assert metrics["global_step"] == 2 * 20
    assert [e["epoch"] for e in metrics["epochs"]][-1] == 2
    model = SimilarityModel.load(out / "servable")
    assert model.encode(["red running shoes"]).shape == (1, 32)


def test_train_index_search_end_to_end(tiny_bert_dir, capsys, tmp_path):
    from esci import index as esci_index
    from esci import search as esci_search
    from esci import train as esci_train

    out, qdrant = tmp_path / "esci", tmp_path / "qdrant"
    report = esci_train.main(_options(tiny_bert_dir, DEMO_DATA, out, "--max_train_steps", "3",
                                      "--per_device_train_batch_size", "8", "--with_tracking",
                                      "--report_to", "csv"))
    assert report["global_step"] == 3
    for name in ("metrics.json", "roc.png", "config.json", "adapter/adapter_model.safetensors",
                 "servable/simtune.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= saved["pretrained"]["roc_auc"] <= 1.0 and 0.0 <= saved["metrics"]["ndcg@10"] <= 1.0
    assert json.loads((out / "config.json").read_text())["max_train_steps"] == 3
    assert list((out / "logs").rglob("metrics.csv"))

    pushed = esci_index.main(["--servable", str(out), "--qdrant-path", str(qdrant), "--no-progress"])
    assert pushed.points == 346  # the demo set's distinct products
    capsys.readouterr()
    hits = esci_search.main(["harry potter books", "-k", "4", "--servable", str(out),
                             "--qdrant-path", str(qdrant)])[0]
    printed = capsys.readouterr().out
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].payload["product_title"] in printed and f"{hits[0].score:.4f}" in printed
    threshold = hits[1].score - 1e-4
    above = esci_search.main(["harry potter books", "-k", "4", "--threshold", str(threshold),
                              "--servable", str(out), "--qdrant-path", str(qdrant)])[0]
    assert 2 <= len(above) <= 4 and all(h.score >= threshold for h in above)
    assert [h.id for h in above[:2]] == [h.id for h in hits[:2]]
