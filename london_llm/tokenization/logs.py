"""Stage 03's log: the terminal (without breaking tqdm bars) and a file."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from london_llm.logs import setup_logger

LOGGER_NAME = "london_llm.tokenization"


def setup_logging(log_file: Optional[Path]) -> logging.Logger:
    """The stage's logger, to the terminal and appended to `log_file` (when given)."""
    return setup_logger(LOGGER_NAME, log_file)
