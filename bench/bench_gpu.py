"""The training and encoding benchmarks on a CUDA GPU, written to bench/out/gpu.json.

Models:
* ``minilm``: the bundled all-MiniLM-L6-v2 (its weights may travel as float16 and are widened
  back to float32 here: both sides start from the same weights), trained one epoch with
  validation precision@1 / MRR.
* ``e5_large_arch``: the e5-large-v2 architecture (BertModel, hidden 1024, 24 layers, 16 heads,
  intermediate 4096, vocabulary 30522) with random weights built from a config and MiniLM's
  (same BERT uncased) tokenizer: speed only, no quality figures.

    python -m bench.bench_gpu --minilm DIR [--steps 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench import bench_encode, bench_train
from bench.common import machine, write_json

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def widen_minilm(src: Path, dst: Path) -> Path:
    """Copy a sentence-transformers folder, casting its weights to float32 (they may travel as fp16)."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst, dirs_exist_ok=True)
    weights = dst / "model.safetensors"
    save_file({k: v.float().contiguous() for k, v in load_file(str(weights)).items()}, str(weights))
    return dst


def e5_large_arch(tokenizer_dir: Path, dst: Path) -> Path:
    """A randomly initialised BertModel of e5-large-v2's shape, saved with a BERT uncased tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                        intermediate_size=4096, max_position_embeddings=512)  # fmt: skip
    BertModel(config).save_pretrained(str(dst))
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy(tokenizer_dir / name, dst / name)
    return dst


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minilm", required=True, help="MiniLM sentence-transformers folder")
    parser.add_argument("--steps", type=int, default=0, help="training steps per run (0: one epoch)")
    parser.add_argument("--work", default="/tmp/simtune_gpu")
    parser.add_argument("--out", default=None, help="also copy gpu.json here after every stage")
    opts = parser.parse_args(argv)
    work = Path(opts.work)
    work.mkdir(parents=True, exist_ok=True)
    minilm = widen_minilm(Path(opts.minilm), work / "minilm")
    e5 = e5_large_arch(minilm, work / "e5_large_arch")
    payload: dict[str, Any] = {"machine": machine(), "stages": {}}
    try:
        import torch

        payload["machine"]["gpu"] = torch.cuda.get_device_name(0)
    except Exception as err:  # noqa: BLE001 - report, do not stop
        payload["machine"]["gpu"] = f"unknown ({err})"

    def stage(name: str, fn: Any) -> None:
        start = time.perf_counter()
        try:
            payload["stages"][name] = fn()
        except Exception as err:  # noqa: BLE001 - one failed stage must not lose the others
            payload["stages"][name] = {"error": repr(err)}
        payload["stages"][name]["wall_s"] = time.perf_counter() - start
        path = write_json("gpu", payload)
        if opts.out:
            shutil.copy(path, Path(opts.out) / "gpu.json")
        print(
            name,
            json.dumps(payload["stages"][name].get("summary", payload["stages"][name].get("results")))[:600],
            flush=True,
        )

    steps = ["--steps", str(opts.steps), "--device", "cuda"]
    stage(
        "train_minilm",
        lambda: bench_train.main(
            [*steps, "--model", str(minilm), "--precisions", "bf16,fp32", "--name", "gpu_train_minilm"]
        ),
    )
    stage(
        "encode_minilm",
        lambda: bench_encode.main(
            ["--model", str(minilm), "--device", "cuda", "--repeats", "3", "--name", "gpu_encode_minilm"]
        ),
    )
    stage(
        "train_e5_large_arch",
        lambda: bench_train.main(
            [*steps, "--model", str(e5), "--precisions", "bf16,fp32", "--no-eval", "--name", "gpu_train_e5"]
        ),
    )
    stage("encode_e5_large_arch", lambda: bench_encode.main(
        ["--model", str(e5), "--device", "cuda", "--batch-sizes", "128", "--repeats", "2",
         "--max-length", "512", "--name", "gpu_encode_e5"]))  # fmt: skip
    return payload


if __name__ == "__main__":
    main()
