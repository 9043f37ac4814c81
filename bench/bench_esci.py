"""ESCI bench: train on ../shared/data/esci_small and compare pre-trained with trained.

    python -m bench.bench_esci [-- extra esci.train options]

Writes bench/out/esci.json: ROC-AUC of the validation pairs and nDCG@10 of Qdrant search over
the whole catalogue (esci.evaluate), before and after training, the training time and options.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "esci_small"
OUT = ROOT / "bench" / "out" / "esci.json"


def main(argv: list[str] | None = None) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from esci import train as esci_train
    from esci.evaluate import evaluate, pretrained_model
    from esci.serving import load_servable
    from simtune.encoders import DEFAULT_MODEL
    from simtune.eval import write_json_atomic

    if not DATA.is_dir():
        sys.exit(f"bench_esci: {DATA} not found (the shared data lives beside the repository)")
    extra = list(sys.argv[1:] if argv is None else argv)
    out_dir = ROOT / "servable" / "bench_esci"
    # The defaults of esci.train are the recipe measured here (see the module docstring).
    options = ["--dataset_name", str(DATA), "--output_dir", str(out_dir), "--mixed_precision", "bf16",
               *extra]
    config = esci_train.parse_config(esci_train.TrainConfig, options)
    start = time.perf_counter()
    before = evaluate(pretrained_model(DEFAULT_MODEL, config.max_length), str(DATA), config.val_fraction,
                      config.split_seed, precision="fp32")
    print("pre-trained:", before, flush=True)
    eval_seconds = time.perf_counter() - start
    report = esci_train.train(config)
    after = evaluate(load_servable(out_dir), str(DATA), config.val_fraction, config.split_seed,
                     precision="fp32")
    print("trained:", after, flush=True)
    result = {
        "data": str(DATA), "options": options, "recipe": report["recipe"],
        "pretrained": before, "trained": after,
        "train_seconds": report["train_seconds"], "global_step": report["global_step"],
        "epochs": report["epochs"], "kept_checkpoint": report["kept_checkpoint"],
        "eval_seconds_one_model": round(eval_seconds, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_end": os.getloadavg()},
    }
    write_json_atomic(OUT, result)
    print(f"wrote {OUT}")
    return result


if __name__ == "__main__":
    main()
