"""The training bar and the in-training evaluation's bar, as a terminal shows them: a tiny run in a real
pseudo-terminal (100 columns), its bytes replayed through a small VT100 model (carriage return, line
feed, autowrap, cursor up, erase to end of line: what tqdm and the log writer use). While the
evaluation runs its bar sits on the row below the training bar; the log lines come out whole, above
the bars, never spliced into one; and the finished screen holds every log line once and one bar."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time

import pytest

from training_runs import TRAIN_SLM, make_inputs, tiny_flags

pytestmark = pytest.mark.slow

COLUMNS = 100
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")
BAR = re.compile(r"\d+%\|")


def screen(data: str, width: int = COLUMNS) -> list[str]:
    """The rows a VT100 of `width` columns shows for `data`, soft-wrapped rows joined back into one line."""
    rows: list[list[str]] = [[]]
    wrapped: set[int] = set()  # rows continued from the row above by autowrap
    row = col = 0
    pending = False  # at the last column: the next printable character wraps first
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "\x1b":
            m = re.match(r"\x1b\[(\d*)([A-Za-z])", data[i:])
            assert m, f"an escape sequence this model does not know: {data[i:i + 8]!r}"
            if m.group(2) == "A":
                row, pending = max(0, row - int(m.group(1) or 1)), False
            elif m.group(2) == "K":
                del rows[row][col:]
            i += len(m.group(0))
            continue
        if ch == "\r":
            col, pending = 0, False
        elif ch == "\n":
            row, pending = row + 1, False
            rows.extend([] for _ in range(row + 1 - len(rows)))
        else:
            if pending:
                row, col, pending = row + 1, 0, False
                rows.extend([] for _ in range(row + 1 - len(rows)))
                wrapped.add(row)
            line = rows[row]
            line.extend(" " for _ in range(col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
            if col == width:
                col, pending = width - 1, True
        i += 1
    lines: list[str] = []
    for n, cells in enumerate(rows):
        text = "".join(cells)
        if n in wrapped and lines:
            lines[-1] += text
        else:
            lines.append(text)
    return [line.rstrip() for line in lines]


def test_screen_model():
    assert screen("ab\r\ncd") == ["ab", "cd"]
    assert screen("x" * 12 + "\r\ny", width=10) == ["x" * 12, "y"]  # a wrapped line is one line again
    assert screen(" 5%|#\r\nlog\r\n\x1b[A\rbar\x1b[K") == [" 5%|#", "bar", ""]  # up one row, overwrite, erase


def run_in_terminal(argv: list[str], cwd, timeout: float = 240) -> tuple[int, str]:
    """argv's exit status and everything it wrote to a 100-column terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        try:
            os.chdir(cwd)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, COLUMNS, 0, 0))
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_the_training_and_evaluation_bars_share_a_terminal_cleanly(small_documents, tmp_path):
    inputs = make_inputs(small_documents, tmp_path)
    log_file = tmp_path / "model_training.log"
    argv = [sys.executable, str(TRAIN_SLM), *tiny_flags(inputs, 20, **{"--eval_steps": "10", "--eval_iters": "30"}),
            "--output_dir", str(tmp_path / "out"), "--log_file", str(log_file)]
    code, text = run_in_terminal(argv, tmp_path)
    assert code == 0, text[-3000:]
    final = screen(text)
    for line in final:  # a log line never carries a bar's pieces, a bar never a log line's
        assert not (STAMP.search(line) and BAR.search(line)), line
    logged = [line.split("] ", 1)[1] for line in log_file.read_text(encoding="utf-8").splitlines() if "] " in line]
    shown = [STAMP.sub("", line) for line in final if STAMP.match(line)]
    assert logged and shown == logged, (shown, logged)  # every log line once, whole, in order
    bars = [line for line in final if BAR.search(line)]
    assert len(bars) == 1 and bars[0].startswith("100%|") and "20/20" in bars[0], bars
    last = [line for line in final if line]
    assert last[-2] == bars[0] and last[-1].endswith("checkpoint-20"), last[-3:]  # the closing line, below the bar
    # while an evaluation runs: the training bar, and its bar on the row below (each frame of a bar below
    # the first ends by moving the cursor back up: judged there, never mid-frame)
    seen = 0
    for frame in re.finditer(r"\x1b\[A", text):
        rows = [row for row in screen(text[:frame.end()]) if row]
        if rows and rows[-1].startswith("evaluating step "):
            assert BAR.search(rows[-2]) and not rows[-2].startswith("evaluating"), rows[-3:]
            assert re.search(r"\| \d+/30 \[", rows[-1]), rows[-1]
            seen += 1
    assert seen >= 4, f"{seen} screens showed the evaluation's bar (val and train, at steps 10 and 20)"
