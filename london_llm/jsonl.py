"""Reading JSON-lines artifacts (documents.jsonl) one bounded line at a time, and writing strict JSON."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator


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


def finite_or_null(value: Any) -> Any:
    """`value` with every NaN or infinite float (also inside dicts, lists and tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value


def strict_dumps(value: Any, **kwargs) -> str:
    """json.dumps that writes strict JSON: a non-finite number becomes null (bare NaN / Infinity,
    which Python writes by default, are rejected by strict readers such as JavaScript's JSON.parse)."""
    return json.dumps(finite_or_null(value), allow_nan=False, **kwargs)
