"""Reading JSON-lines artifacts (documents.jsonl) one bounded line at a time."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator


class LineTooLong(ValueError):
    """A line over the bound: not one record of the artifact (a corrupt or foreign file)."""

    def __init__(self, line_no: int, max_line_bytes: int):
        super().__init__(f"line {line_no} is over {max_line_bytes:,} bytes")
        self.line_no = line_no
        self.max_line_bytes = max_line_bytes


def bounded_lines(path: Path, max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of every non-blank line; never reads more than the bound into memory
    for one line, raising LineTooLong instead. Callers turn that into their stage's own message."""
    with open(path, "rb") as fh:
        line_no = 0
        while raw := fh.readline(max_line_bytes + 1):
            line_no += 1
            if len(raw) > max_line_bytes:
                raise LineTooLong(line_no, max_line_bytes)
            if raw.strip():
                yield line_no, raw
