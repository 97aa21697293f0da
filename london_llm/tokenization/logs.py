"""Stage 03's log: the terminal (without breaking tqdm bars) and a file."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

LOGGER_NAME = "london_llm.tokenization"


class _TqdmHandler(logging.StreamHandler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - a log line must never stop the work
            self.handleError(record)


def setup_logging(log_file: Optional[Path]) -> logging.Logger:
    """The package logger, to stderr and appended to `log_file` (when given)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    terminal = _TqdmHandler()
    terminal.setFormatter(fmt)
    logger.addHandler(terminal)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(fmt)
        logger.addHandler(file_handler)
    return logger
