"""london_llm.logs: the one logging set-up every command uses."""
from __future__ import annotations

import logging

from london_llm.logs import setup_logger


def test_terminal_and_file_and_no_handlers_pile_up_when_set_up_twice(tmp_path, capsys):
    log_file = tmp_path / "logs" / "stage.log"
    for _ in range(2):  # a second set-up (a command run twice in one process) replaces, never adds
        logger = setup_logger("london_llm.test_logs", log_file, terminal_level=logging.WARNING)
    assert len(logger.handlers) == 2
    logger.info("into the file only")
    logger.warning("both")
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "INFO into the file only" in text and "WARNING both" in text
    err = capsys.readouterr().err
    assert "both" in err and "into the file only" not in err


def test_named_lines_say_which_logger_wrote_them(tmp_path):
    log_file = tmp_path / "data.log"
    setup_logger("london_llm.test_named", log_file, named=True)
    logging.getLogger("london_llm.test_named.child").info("hello")
    for handler in logging.getLogger("london_llm.test_named").handlers:
        handler.flush()
    assert "INFO london_llm.test_named.child: hello" in log_file.read_text(encoding="utf-8")
