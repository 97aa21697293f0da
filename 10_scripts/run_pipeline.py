#!/usr/bin/env python3
"""Run the pipeline's stages in order. Stages whose scripts are not built yet are reported and skipped."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = [
    ("environment", "01_environment/setup_environment.py", ["--check"]),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    for name, script, args in STAGES:
        path = ROOT / script
        print(f"== {name}: {script} {' '.join(args)}", flush=True)
        rc = subprocess.run([sys.executable, str(path), *args]).returncode
        if rc:
            print(f"stage {name} failed (exit {rc})", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
