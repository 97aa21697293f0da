"""london_llm.logs: the one logging set-up every command uses."""
from __future__ import annotations

import logging

from london_llm.logs import link_into, setup_logger


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


def test_the_training_log_is_linked_into_logs_once_and_nothing_is_replaced(tmp_path):
    """The guide's logs/ is "training logs and WandB data"; the log itself is 04_training/model_training.log."""
    log_file = tmp_path / "04_training" / "model_training.log"
    log_file.parent.mkdir()
    log_file.write_text("a line\n")
    link = link_into(tmp_path / "logs", log_file)
    assert link == tmp_path / "logs" / "model_training.log" and link.read_text() == "a line\n"
    assert not link.readlink().is_absolute()  # the artifact root can move
    assert link_into(tmp_path / "logs", log_file) == link  # again: the same link
    other = tmp_path / "logs2" / "model_training.log"
    other.parent.mkdir()
    other.write_text("a file of its own\n")
    assert link_into(tmp_path / "logs2", log_file) is None and other.read_text() == "a file of its own\n"
