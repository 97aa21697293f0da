"""What an evaluation run is asked to do: the tasks there are, the budget of each mode, and the
run's settings (the command line's flags, as evaluation.cli fills them in).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

TASKS = ("bpb", "history", "cutoff", "vocabulary", "conditioning", "anachronism", "rouge", "questions",
         "mmlu", "hellaswag")
DEFAULT_TASKS = ("bpb", "history", "cutoff", "vocabulary", "conditioning", "anachronism", "rouge")
MC_TASKS = {"history": ["london_history"], "cutoff": ["london_cutoff_before", "london_cutoff_after"],
            "vocabulary": ["london_vocabulary"], "questions": ["london_questions"], "mmlu": ["london_mmlu"],
            "hellaswag": ["london_hellaswag"]}
DATA_FILES = {"london_history": "history_mc.jsonl", "london_cutoff_before": "cutoff_probe.jsonl",
              "london_cutoff_after": "cutoff_probe.jsonl", "london_vocabulary": "vocabulary_pairs.jsonl"}
CUTOFF_YEAR = 1913
BENCHMARKS = ("london_mmlu", "london_hellaswag")


@dataclass(frozen=True)
class Budget:
    mc_items: Optional[int]  # per multiple-choice task (seeded subset); None = all
    passages: int  # held-out passages for bits per byte (and as many modern ones)
    passage_chars: int
    conditioning_docs: int
    heldout_prompts: int
    samples_per_prompt: int
    gen_tokens: int
    rouge_passages: int
    rouge_tokens: int
    benchmark_items: Optional[int]


MODES = {
    "quick": Budget(mc_items=60, passages=24, passage_chars=1000, conditioning_docs=12, heldout_prompts=4,
                    samples_per_prompt=2, gen_tokens=48, rouge_passages=8, rouge_tokens=32, benchmark_items=100),
    "comprehensive": Budget(mc_items=None, passages=120, passage_chars=2000, conditioning_docs=60,
                            heldout_prompts=16, samples_per_prompt=3, gen_tokens=96, rouge_passages=32,
                            rouge_tokens=64, benchmark_items=None),
}


@dataclass
class Settings:
    checkpoints: list[str]
    checkpoints_dir: Optional[Path]
    output_dir: Path
    tasks_dir: Path
    mode: str = "quick"
    tasks: tuple[str, ...] = DEFAULT_TASKS
    seed: int = 1234
    limit: Optional[int] = None
    device: str = "auto"
    documents_file: Optional[Path] = None
    data_dir: Optional[Path] = None
    questions_file: Optional[Path] = None
    mmlu_dir: Optional[Path] = None
    hellaswag_file: Optional[Path] = None
    batch_size: int = 32
    baselines: bool = True
    command: list[str] = field(default_factory=list)
    threads: Optional[int] = None  # torch intra-op threads; None: 1 for small models (see set_threads)
    keep_models: bool = False  # keep each loaded model (human-evaluation export generates from them)
    log: Callable[[str], None] = print
