#!/usr/bin/env python3
"""Set up the project's virtual environment, or report whether this machine is ready.

    python 01_environment/setup_environment.py           # create helloLondon/, install requirements and the project
    python 01_environment/setup_environment.py --check   # report only; exit 1 if a hard need is missing
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: runs under the system python3 before the environment exists
import config  # noqa: E402
from london_llm.environment import create_environment, machine_report  # noqa: E402
from london_llm.errors import run_command  # noqa: E402


def newest_checkpoint(folder: Path) -> Path:
    """The folder's newest checkpoint-N/ (reported as the row's path), else `folder/checkpoint-N`, which
    does not exist: the regular model's folder is the others' parent, so the folder itself always
    existed once any model had trained, and the report said yes for checkpoints that were not there."""
    steps = [(int(d.name.split("-", 1)[1]), d) for d in folder.glob("checkpoint-*")
             if d.is_dir() and d.name.split("-", 1)[1].isdigit()]
    return max(steps)[1] if steps else folder / "checkpoint-N"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="print a report of this machine and the stage artifacts; change nothing")
    parser.add_argument("--env_dir", "--env-dir", type=Path, default=config.ROOT / "helloLondon",
                        help="virtual environment folder to create (default: helloLondon/ in the repository)")
    parser.add_argument("--requirements", type=Path, default=config.ROOT / "requirements.txt",
                        help="requirements file to install (read, never rewritten)")
    parser.add_argument("--home", type=Path, default=None,
                        help=f"artifact root to report on (default: ${config.HOME_ENV} or the repository)")
    args = parser.parse_args(argv)

    if args.check:
        from london_llm.settings import model_tokenizer_dir

        p = config.paths(args.home)
        artifacts = {
            "02 downloads": p.downloads_dir,
            "02 cleaned documents": p.documents_file,
            "02 corpus": p.corpus_file,
            "03 tokenizer": p.tokenizer_dir / "tokenizer.json",
            "03 tiny tokenizer (./run.sh on a CPU)": model_tokenizer_dir(p.tokenizer_dir, "tiny") / "tokenizer.json",
            "04 SLM pretokenized data": p.pretokenized_dir("slm") / "metadata.json",
            "04 SLM checkpoints": newest_checkpoint(p.checkpoint_dir("slm")),
            "04 regular checkpoints": newest_checkpoint(p.checkpoint_dir("regular")),
            "04 tiny checkpoints": newest_checkpoint(p.checkpoint_dir("tiny")),
        }
        report = machine_report(artifacts, disk_path=p.home)
        print(f"Project root: {config.ROOT}\nArtifact root: {p.home}")
        print(report.render())
        return 0 if report.ok else 1

    python = create_environment(args.env_dir, args.requirements, project=config.ROOT)
    print(f"Ready. Activate with: source {args.env_dir}/bin/activate  (python: {python})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(main))  # a failed set-up is one line, exit 2
