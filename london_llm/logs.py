"""One way to log: to the terminal without breaking tqdm bars, and appended to a file."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


class TqdmHandler(logging.StreamHandler):
    """Terminal output written through tqdm, so a running progress bar is redrawn below it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - a log line must never stop the work
            self.handleError(record)


def setup_logger(name: str, log_file: Optional[Path], terminal_level: int = logging.INFO) -> logging.Logger:
    """The named logger, reset to: the terminal at `terminal_level`, and `log_file` (when given)."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    terminal = TqdmHandler()
    terminal.setFormatter(FORMAT)
    terminal.setLevel(terminal_level)
    logger.addHandler(terminal)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(FORMAT)
        logger.addHandler(file_handler)
    return logger
