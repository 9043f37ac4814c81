"""``TrainConfig``: every option of ``python -m esci.train``, with its default, help and checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from simtune.encoders import DEFAULT_MODEL

PRECISIONS = {"no": "32-true", "fp16": "16-mixed", "bf16": "bf16-mixed"}
REPORTERS = ("csv", "tensorboard", "wandb")
SELECTION_METRICS = ("ndcg@10", "roc_auc")


def _opt(default, text: str, **extra):
    return field(default=default, metadata={"help": text, **extra})


@dataclass
class TrainConfig:
    """Fine-tune a sentence encoder on ESCI judged pairs (LoRA by default) and save a servable."""

    dataset_name: str | None = _opt(
        None, "ESCI data: a file or folder (see esci.data.load_esci) or a Hugging Face data set "
        "name; none = the bundled demo set data/demo/esci_demo.csv")
    max_length: int = _opt(70, "token cap per query or title")
    model_name_or_path: str = _opt(DEFAULT_MODEL, "base encoder: hub id or local folder")
    per_device_train_batch_size: int = _opt(
        64, "judged pairs per training batch (more pairs: more in-batch negatives)")
    per_device_eval_batch_size: int = _opt(64, "judged pairs per validation batch")
    learning_rate: float = _opt(1e-4, "AdamW learning rate")
    weight_decay: float = _opt(0.0, "AdamW weight decay")
    num_train_epochs: int = _opt(1, "passes over the training pairs")
    max_train_steps: int | None = _opt(
        None, "stop after this many optimizer steps (overrides the epochs when reached first)")
    gradient_accumulation_steps: int = _opt(1, "batches per optimizer step")
    output_dir: str = _opt("servable/esci", "where the servable, adapter, metrics, ROC curve, "
                           "config and checkpoints are written")
    seed: int = _opt(42, "seed of weights init, dropout and shuffling")
    split_seed: int = _opt(0, "seed of the train/validation split by query")
    val_fraction: float = _opt(0.2, "fraction of queries held out for validation")
    use_peft: bool = _opt(True, "train LoRA adapters on a frozen base (--no-use_peft: full "
                          "fine-tuning)")
    lora_r: int = _opt(8, "LoRA rank")
    lora_alpha: int = _opt(16, "LoRA alpha (updates are scaled by alpha / r)")
    lora_dropout: float = _opt(0.1, "dropout on the LoRA input")
    lora_target_modules: tuple[str, ...] = _opt(
        ("query", "key", "value"), "linear layers that get adapters")
    ranking_weight: float = _opt(
        1.0, "weight of the in-batch ranking term added to the clamped-cosine loss (0: the "
        "guide's loss alone)")
    ranking_scale: float = _opt(20.0, "inverse temperature of the in-batch ranking softmax")
    selection_metric: str = _opt(
        "ndcg@10", "validation metric whose best epoch is kept", choices=SELECTION_METRICS)
    mixed_precision: str = _opt(
        "bf16", "no, fp16 (CUDA only) or bf16 (CPU with AMX or a recent GPU)",
        choices=tuple(PRECISIONS))
    checkpointing_steps: str = _opt(
        "epoch", "write a resumable checkpoint every N optimizer steps, or each 'epoch'")
    resume_from_checkpoint: str | None = _opt(
        None, "checkpoint file to resume from, or 'latest' (newest one in output_dir/checkpoints)")
    with_tracking: bool = _opt(False, "log training curves with the --report_to logger")
    report_to: str = _opt("csv", "logger used with --with_tracking", choices=REPORTERS)
    num_workers: int = _opt(0, "DataLoader worker processes (0: tokenize in the main process)")

    def __post_init__(self) -> None:
        positive = ("max_length", "per_device_train_batch_size", "per_device_eval_batch_size",
                    "num_train_epochs", "gradient_accumulation_steps", "lora_r", "lora_alpha")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TrainConfig.{name} must be a positive integer; got {value!r}")
        if self.max_train_steps is not None and self.max_train_steps <= 0:
            raise ValueError(f"TrainConfig.max_train_steps must be positive or None; got "
                             f"{self.max_train_steps!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0; got {self.learning_rate!r}")
        for name in ("weight_decay", "ranking_weight", "num_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0; got {getattr(self, name)!r}")
        if not self.ranking_scale > 0:
            raise ValueError(f"TrainConfig.ranking_scale must be > 0; got {self.ranking_scale!r}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"TrainConfig.lora_dropout must be in [0, 1); got {self.lora_dropout!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"TrainConfig.val_fraction must be in (0, 1): validation picks the "
                             f"best epoch; got {self.val_fraction!r}")
        if not self.lora_target_modules:
            raise ValueError("TrainConfig.lora_target_modules must name at least one layer")
        self.lora_target_modules = tuple(self.lora_target_modules)
        checks = {"mixed_precision": PRECISIONS, "report_to": REPORTERS,
                  "selection_metric": SELECTION_METRICS}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name} must be one of {sorted(allowed)}; got "
                                 f"{getattr(self, name)!r}")
        steps = str(self.checkpointing_steps)
        if steps != "epoch" and not (steps.isdigit() and int(steps) > 0):
            raise ValueError(f"TrainConfig.checkpointing_steps must be 'epoch' or a positive "
                             f"integer; got {self.checkpointing_steps!r}")
        self.checkpointing_steps = steps
        if self.mixed_precision == "fp16":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("TrainConfig.mixed_precision 'fp16' needs a CUDA GPU (float16 "
                                 "autocast is not supported on CPU); use 'bf16' or 'no'")

    @property
    def lightning_precision(self) -> str:
        """The Trainer's ``precision`` argument."""
        return PRECISIONS[self.mixed_precision]

    @property
    def encode_precision(self) -> str:
        """``SimilarityModel.encode``'s ``precision`` for validation embeddings."""
        return "bf16" if self.mixed_precision == "bf16" else "fp32"
