"""One way to log: to the terminal without breaking tqdm bars, and appended to a file."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
# stage 02 logs several loggers (london_llm.collect, .cleaning, ...) into one file: name each line
NAMED_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class TqdmHandler(logging.StreamHandler):
    """Terminal output written through tqdm, so a running progress bar is redrawn below it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - a log line must never stop the work
            self.handleError(record)


def setup_logger(name: str, log_file: Optional[Path], terminal_level: int = logging.INFO,
                 named: bool = False) -> logging.Logger:
    """The named logger, reset to: the terminal at `terminal_level`, and `log_file` (when given).

    Every command's logging goes through here. `named` puts the logger's name on each line, for a
    logger whose children share one file. Calling it again replaces the handlers, never adds more.
    """
    fmt = NAMED_FORMAT if named else FORMAT
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    terminal = TqdmHandler()
    terminal.setFormatter(fmt)
    terminal.setLevel(terminal_level)
    logger.addHandler(terminal)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(fmt)
        logger.addHandler(file_handler)
    return logger


def link_into(folder: Path, log_file: Path) -> Optional[Path]:
    """`folder/<log_file's name>`, a relative link to `log_file`, so the guide's logs/ ("training logs
    and WandB data") lists the training log that 04_training/model_training.log holds. Made once;
    whatever is already there (a file, a link) is left alone; a filesystem without links gets none."""
    link = Path(folder) / Path(log_file).name
    try:
        if link.is_symlink() or link.exists():
            return link if link.is_symlink() else None
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(Path(log_file).resolve(), link.parent.resolve()))
        return link
    except OSError:
        return None
