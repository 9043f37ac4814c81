"""Two-process DDP on CPU trains, and both ranks end with identical adapter weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.models.pair_models import LoraPairModel


def test_two_process_ddp_keeps_ranks_identical(tiny_bert_dir, tmp_path):
    script = Path(__file__).with_name("ddp_train.py")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(
        [sys.executable, str(script), str(tiny_bert_dir), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    assert rank0.keys() == rank1.keys() and rank0
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), f"{name} differs between ranks"
    assert (tmp_path / "rank0.steps").read_text() == "4"
    # training moved the adapters away from their initial values (lora_B starts at zero)
    fresh = {n: p for n, p in LoraPairModel(str(tiny_bert_dir), r=4).named_parameters() if "lora_B" in n}
    assert any(not torch.equal(rank0[n], fresh[n].detach()) for n in fresh)
