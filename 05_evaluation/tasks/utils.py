"""Data loaders for the project's lm-evaluation-harness tasks (custom_dataset in the YAML files).

Self-contained on purpose (json + datasets only), so `lm_eval --include_path 05_evaluation/tasks`
works from any folder without the london_llm package: the data files are found next to this file,
`--metadata '{"questions_file": "/path/q.jsonl"}'` points london_questions at a user's own file and
`--metadata '{"documents_file": "/path/docs.jsonl"}'` gives london_bpb its documents.
"""
from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _read(path, select=None):
    import datasets

    rows = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if select is None or select(row):
                rows.append({"id": str(row.get("id", line_no)), "context": row["context"],
                             "choices": list(row["choices"]), "answer": int(row["answer"]),
                             "year": row.get("year")})
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


CUTOFF_YEAR = 1913


def history(**_):
    return _read(DATA / "history_mc.jsonl")


def cutoff_before(**_):
    return _read(DATA / "cutoff_probe.jsonl", lambda r: int(r["year"]) <= CUTOFF_YEAR)


def cutoff_after(**_):
    return _read(DATA / "cutoff_probe.jsonl", lambda r: int(r["year"]) > CUTOFF_YEAR)


def vocabulary(**_):
    return _read(DATA / "vocabulary_pairs.jsonl")


def questions(questions_file=None, **_):
    """A user's own question file (--metadata '{"questions_file": ...}'); the history questions otherwise."""
    return _read(Path(questions_file) if questions_file else DATA / "history_mc.jsonl")


def documents(documents_file=None, **_):
    """{"text": ...} documents (extra fields such as kind and year are kept) for london_bpb."""
    import datasets

    if not documents_file:
        raise ValueError("london_bpb needs a documents file: --metadata '{\"documents_file\": \"/path/to/docs.jsonl\"}'")
    rows = []
    with open(documents_file, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append({"text": row["text"], "kind": str(row.get("kind") or ""), "year": row.get("year")})
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
