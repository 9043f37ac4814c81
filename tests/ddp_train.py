"""Run by test_ddp.py: two-process DDP on CPU; each rank writes its adapter weights.

Usage: python tests/ddp_train.py MODEL_DIR OUT_DIR
(Lightning's DDP launcher re-runs this script once per extra rank.)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import pytorch_lightning as pl
    from safetensors.torch import save_file

    from simtune.data import PairsSimilarityDataLoader
    from simtune.samples import SimilarityPairSample
    from tests.models.pair_models import PAIRS, LoraPairModel

    model_dir, out_dir = sys.argv[1], Path(sys.argv[2])
    pl.seed_everything(0)
    model = LoraPairModel(model_dir, lr=1e-2, r=4)
    samples = [SimilarityPairSample(a, b, s) for a, b, s in PAIRS]
    loader = PairsSimilarityDataLoader(samples, collator=model.collator(), batch_size=4, shuffle=True)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_steps=4,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader)
    rank = trainer.global_rank
    lora = {n: p.detach().contiguous() for n, p in model.named_parameters() if "lora_" in n}
    save_file(lora, str(out_dir / f"rank{rank}.safetensors"))
    (out_dir / f"rank{rank}.steps").write_text(str(trainer.global_step))


if __name__ == "__main__":
    main()
