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


def _records(path):
    """(line number, record) of each non-blank line of a JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                yield line_no, json.loads(line)


def _dataset(rows):
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def _read(path, select=None):
    return _dataset([{"id": str(row.get("id", line_no)), "context": row["context"], "choices": list(row["choices"]),
                      "answer": int(row["answer"]), "year": row.get("year")}
                     for line_no, row in _records(path) if select is None or select(row)])


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


def _documents(path, task, key):
    if not path:
        raise ValueError(f"{task} needs a documents file: --metadata '{{\"{key}\": \"/path/to/docs.jsonl\"}}'")
    return _dataset([{"text": row["text"], "kind": str(row.get("kind") or ""), "year": row.get("year")}
                     for _line_no, row in _records(path)])


def documents(documents_file=None, **_):
    """{"text": ...} documents (kind and year kept when present) for london_bpb."""
    return _documents(documents_file, "london_bpb", "documents_file")


def modern_documents(modern_file=None, **_):
    """{"text": ...} modern English passages for london_bpb_modern."""
    return _documents(modern_file, "london_bpb_modern", "modern_file")


# --- standard benchmarks from the user's own files (nothing is downloaded) -----------------------

MMLU_LETTERS = ("A", "B", "C", "D")


def mmlu(mmlu_dir=None, **_):
    """MMLU from its CSV layout: <mmlu_dir>/test/<subject>_test.csv (or the CSVs in mmlu_dir itself),
    rows of question, A, B, C, D, answer letter; prompted as lm-eval's mmlu task does (zero-shot)."""
    import csv

    if not mmlu_dir:
        raise ValueError("london_mmlu needs --metadata '{\"mmlu_dir\": \"/path/to/mmlu/data\"}'")
    root = Path(mmlu_dir)
    files = sorted((root / "test").glob("*_test.csv")) or sorted(root.glob("*_test.csv"))
    if not files:
        raise ValueError(f"no <subject>_test.csv files in {root} or {root / 'test'} (the MMLU CSV layout)")
    rows = []
    for path in files:
        subject = path.name[: -len("_test.csv")]
        with open(path, encoding="utf-8", newline="") as fh:
            for line_no, rec in enumerate(csv.reader(fh), 1):
                if len(rec) != 6 or rec[5].strip() not in MMLU_LETTERS:
                    raise ValueError(f"{path} row {line_no}: expected question, A, B, C, D, answer letter")
                rows.append({"subject": subject, "question": rec[0], "choices": rec[1:5],
                             "answer": MMLU_LETTERS.index(rec[5].strip())})
    return _dataset(rows)


def _hellaswag_clean(text):
    import re

    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag(hellaswag_file=None, **_):
    """HellaSwag validation JSON lines (hellaswag_val.jsonl: ctx_a, ctx_b, activity_label, endings,
    label), prepared as lm-eval's hellaswag task does."""
    if not hellaswag_file:
        raise ValueError("london_hellaswag needs --metadata '{\"hellaswag_file\": \"/path/to/hellaswag_val.jsonl\"}'")
    rows = []
    for line_no, rec in _records(hellaswag_file):
        if "label" not in rec or rec["label"] in ("", None):
            raise ValueError(f"{hellaswag_file} line {line_no}: no label (use the validation split, not test)")
        ctx = rec["ctx_a"] + " " + rec["ctx_b"].capitalize()
        rows.append({"query": _hellaswag_clean(rec["activity_label"] + ": " + ctx),
                     "choices": [_hellaswag_clean(e) for e in rec["endings"]], "label": int(rec["label"])})
    return _dataset(rows)
