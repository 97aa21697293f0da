"""The publishing scripts' log: every line to the terminal and, time-stamped, appended to a file."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Optional


def tee_log(log_file: Optional[Path]) -> Callable[..., None]:
    """log(message, error=False): stdout (stderr for errors) and `log_file` when given."""
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)

    def log(message: str, error: bool = False) -> None:
        print(message, file=sys.stderr if error else sys.stdout, flush=True)
        if log_file is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(log_file, "a", encoding="utf-8") as fh:
                fh.write(f"{stamp} {'ERROR' if error else 'INFO'} {message}\n")

    return log
