#!/usr/bin/env python3
"""The whole pipeline in one command: environment check, data, tokenizer, training, checkpoint check.

A thin door to london_llm.pipeline. Each stage is the stage's own script, run as a user would run
it, so the pipeline only decides the order and the flags. A rerun skips the data and tokenizer stages when their artifacts exist (name
them in --redo to rebuild) and training resumes from the newest checkpoint (--fresh starts over).

    ./run.sh --from-dir ../shared/corpus --model tiny     # offline, a few minutes on a CPU
    ./run.sh                                              # download the registry's sources, train the SLM
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the one bootstrap line: runs from a clean clone without an install
import config  # noqa: E402
from london_llm.pipeline import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(None, root=ROOT, presets=config.PRESETS, paths_fn=config.paths, home_env=config.HOME_ENV,
                          prog="run_pipeline.py"))
