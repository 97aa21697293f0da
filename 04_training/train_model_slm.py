#!/usr/bin/env python3
"""Train the slm model (preset `slm`; --model picks another) on one device or under torchrun.

    python 04_training/train_model_slm.py                          # resume the newest checkpoint, or start
    torchrun --nproc_per_node=2 04_training/train_model_slm.py     # one process per GPU (gloo on CPU)
    python 04_training/train_model_slm.py --resume_from_checkpoint checkpoint-3000
    python 04_training/train_model_slm.py --fresh --no_wandb --model tiny --max_steps 50
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import config  # noqa: E402
from london_llm.training.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(None, prog="train_model_slm.py", default_model="slm", presets=config.PRESETS,
                  paths_fn=config.paths, description=__doc__.splitlines()[0]))
