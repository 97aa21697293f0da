"""Reading JSON-lines artifacts (documents.jsonl) one bounded line at a time, reading a versioned
JSON artifact (one object with a format_version), and writing strict JSON."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator, Optional


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


def read_versioned_json(path: Path, name: str, *, version: int, error: type[Exception], advice: str,
                        missing: Optional[str] = None) -> tuple[Path, dict]:
    """(the file, its JSON object) for an artifact given as the file itself or the folder holding
    `name`, refused unless it is one JSON object of `format_version` == version. Every refusal is
    one `error` naming the file and ending with `advice` (what to run); `missing` replaces the
    whole message for a file that is not there. Each format's owner module adds its own checks."""
    path = Path(path)
    file = path / name if path.is_dir() else path
    if not file.is_file():
        raise error(missing or f"{file} does not exist; {advice}")
    try:
        obj = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{file} is corrupt: not valid JSON ({exc}); {advice}") from None
    if not isinstance(obj, dict):
        raise error(f"{file} is not a JSON object; {advice}")
    if obj.get("format_version") != version:
        raise error(f"{file} has format_version {obj.get('format_version')!r}; this code reads format "
                    f"{version}; {advice}")
    return file, obj
