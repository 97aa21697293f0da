"""The publishing scripts' log: every line to the terminal and, time-stamped, appended to a file; and the one
way both scripts run, so a known failure reaches that log as one ERROR line."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Optional

from london_llm.errors import LondonLLMError


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


def run_logged(run: Callable[..., int], args, defaults) -> int:
    """`run(args, defaults, log=...)` with the log tee'd to `args.log_file`. Every stage's known failure
    (checkpoint, tokenizer, documents, publishing) is one logged ERROR line and its exit code."""
    log = tee_log(args.log_file)
    try:
        return run(args, defaults, log=log)
    except LondonLLMError as exc:
        log(f"ERROR: {exc}", error=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130
