"""The single place for paths and presets. Every value can be overridden by a flag.

Paths derive from this file's folder (the repository root), never from the current
directory. `LONDON_LLM_HOME` moves every artifact (data, models, logs) to another root.

    python config.py                 # print paths and every preset
    python config.py --preset tiny   # one preset
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

from london_llm.settings import TrainConfig

ROOT = Path(__file__).resolve().parent

HOME_ENV = "LONDON_LLM_HOME"


@dataclass(frozen=True)
class Paths:
    """Where every artifact lives, under one root (the repository unless LONDON_LLM_HOME is set)."""

    home: Path

    @property
    def data_dir(self) -> Path:
        return self.home / "data" / "london_historical"

    @property
    def downloads_dir(self) -> Path:
        return self.data_dir / "downloads"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def metadata_dir(self) -> Path:
        return self.data_dir / "metadata"

    @property
    def corpus_file(self) -> Path:
        return self.data_dir / "london_historical_corpus_comprehensive.txt"

    @property
    def documents_file(self) -> Path:
        """Cleaned documents with metadata, one JSON object a line: what later stages read."""
        return self.processed_dir / "documents.jsonl"

    @property
    def models_dir(self) -> Path:
        return self.home / "09_models"

    @property
    def tokenizer_dir(self) -> Path:
        return self.models_dir / "tokenizers" / "london_historical_tokenizer"

    @property
    def checkpoints_root(self) -> Path:
        return self.models_dir / "checkpoints"

    def checkpoint_dir(self, model: str) -> Path:
        """`regular` writes to checkpoints/ itself (as the guide says); others to checkpoints/<model>/."""
        if model not in PRESETS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(PRESETS)}")
        return self.checkpoints_root if model == "regular" else self.checkpoints_root / model

    def pretokenized_dir(self, model: str) -> Path:
        return self.checkpoint_dir(model) / "pretokenized_data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def training_log(self) -> Path:
        return self.home / "04_training" / "model_training.log"

    @property
    def evaluation_dir(self) -> Path:
        return self.home / "05_evaluation" / "results"

    def as_dict(self, model: str = "slm") -> dict[str, str]:
        names = ("home", "data_dir", "downloads_dir", "processed_dir", "metadata_dir", "corpus_file",
                 "documents_file", "tokenizer_dir", "checkpoints_root", "logs_dir", "training_log",
                 "evaluation_dir")
        out = {n: str(getattr(self, n)) for n in names}
        out["checkpoint_dir"] = str(self.checkpoint_dir(model))
        out["pretokenized_dir"] = str(self.pretokenized_dir(model))
        return out


def paths(home: str | os.PathLike | None = None) -> Paths:
    """Paths under `home`, else $LONDON_LLM_HOME, else the repository root."""
    chosen = home or os.environ.get(HOME_ENV) or ROOT
    return Paths(Path(chosen).expanduser().resolve())


# --- presets ---------------------------------------------------------------------------
# Shared by all: AdamW betas (0.9, 0.95), weight decay 0.1 on matrices, clip 1.0, cosine decay
# to 10% of the peak after linear warm-up, bf16 where the hardware has it (nanoGPT's GPT-2 recipe).

SLM = TrainConfig(  # GPT-2 Small shape, ~108M parameters with the 30,000 vocabulary
    n_layer=12, n_head=12, n_embd=768, max_length=512, vocab_size=30_000,
    batch_size=18, gradient_accumulation_steps=1, learning_rate=3e-4,
    max_steps=60_000, num_epochs=3, warmup_steps=2_000,
    eval_steps=500, eval_iters=50, logging_steps=10, save_steps=500, save_total_limit=5,
)

REGULAR = TrainConfig(  # GPT-2 Medium shape, ~334M parameters with the 30,000 vocabulary
    n_layer=24, n_head=16, n_embd=1024, max_length=1024, vocab_size=30_000,
    batch_size=2, gradient_accumulation_steps=4, learning_rate=3e-5,
    max_steps=None, num_epochs=15, warmup_steps=1_000,
    eval_steps=250, eval_iters=100, logging_steps=10, save_steps=250, save_total_limit=5,
)

TINY = TrainConfig(  # trains end to end in a few minutes on a 2-core CPU
    n_layer=2, n_head=4, n_embd=128, max_length=128, vocab_size=4_096,
    batch_size=8, gradient_accumulation_steps=1, learning_rate=1e-3,
    max_steps=200, num_epochs=1, warmup_steps=20,
    eval_steps=50, eval_iters=5, logging_steps=10, save_steps=50, save_total_limit=5,
    val_fraction=0.05,
)

PRESETS: dict[str, TrainConfig] = {"slm": SLM, "regular": REGULAR, "tiny": TINY}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise SystemExit(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the project's paths and presets.")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="print only this preset")
    args = parser.parse_args(argv)
    names = [args.preset] if args.preset else list(PRESETS)
    print(json.dumps({"paths": paths().as_dict(names[0]),
                      "presets": {n: PRESETS[n].to_dict() for n in names}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
