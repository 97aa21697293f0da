"""Multiple-choice question files (the project's tasks and a user's own `--questions FILE`).

One JSON object a line (UTF-8; blank lines are skipped):

    {"id": "h001", "context": "The Great Fire of London began in 1666 in a baker's shop in",
     "choices": ["Pudding Lane", "Fleet Street", "Cheapside", "Threadneedle Street"], "answer": 0,
     "year": 1666, "topic": "events"}

`context` (or `question`) is the text the model continues; each choice is scored as its
continuation after one space (the harness's convention: acc = the highest log-likelihood is the
right one, acc_norm = the same per byte). `answer` is the index of the right choice (or its text).
`id`, `year` and `topic` are optional. Any other problem names the file and the line.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from london_llm.atomic import write_text
from london_llm.evaluation.errors import EvaluationError

MAX_CHOICES = 10
MAX_LINE_CHARS = 20_000
MAX_QUESTIONS = 100_000
FORMAT_HINT = "see docs/evaluation.md, 'Question files'"


def read_questions(path: Path) -> list[dict[str, Any]]:
    """Validated questions in the normalised form (id, context, choices, answer, year, topic)."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"question file {path} does not exist")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        with open(path, encoding="utf-8") as fh:
            # read at most one character past the limit a line: a file that is one huge line (a binary file
            # passed by mistake) is refused without being held whole
            for line_no, line in enumerate(iter(lambda: fh.readline(MAX_LINE_CHARS + 1), ""), 1):
                if len(line) > MAX_LINE_CHARS:
                    raise _bad(path, line_no, f"the line is over {MAX_LINE_CHARS:,} characters")
                if not line.strip():
                    continue
                row = _parse(path, line_no, line)
                if row["id"] in seen:
                    raise _bad(path, line_no, f"id {row['id']!r} appears twice")
                seen.add(row["id"])
                rows.append(row)
                if len(rows) > MAX_QUESTIONS:
                    raise EvaluationError(f"{path} holds more than {MAX_QUESTIONS:,} questions")
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if not rows:
        raise EvaluationError(f"question file {path} holds no questions: one JSON object a line, {FORMAT_HINT}")
    return rows


def _bad(path: Path, line_no: int, why: str) -> EvaluationError:
    return EvaluationError(f"{path} line {line_no}: {why} ({FORMAT_HINT})")


def _parse(path: Path, line_no: int, line: str) -> dict[str, Any]:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad(path, line_no, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise _bad(path, line_no, "not a JSON object")
    context = raw.get("context", raw.get("question"))
    if not isinstance(context, str):
        raise _bad(path, line_no, "needs a text 'context' (or 'question')")
    choices = raw.get("choices")
    if (not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES
            or not all(isinstance(c, str) and c.strip() for c in choices)):
        raise _bad(path, line_no, f"'choices' must be a list of 2 to {MAX_CHOICES} non-empty texts")
    if len(set(choices)) != len(choices):
        raise _bad(path, line_no, "two choices are the same text")
    answer = raw.get("answer")
    if isinstance(answer, str) and answer in choices:
        answer = choices.index(answer)
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise _bad(path, line_no, f"'answer' {answer!r} is neither an index 0-{len(choices) - 1} nor one of the choices")
    year = raw.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise _bad(path, line_no, f"'year' {year!r} is not a whole number")
    return {"id": str(raw.get("id", f"line-{line_no}")), "context": context, "choices": list(choices),
            "answer": answer, "year": year, "topic": str(raw.get("topic") or "")}


def write_questions(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The normalised questions as JSON lines (what the harness task reads)."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return Path(path)
