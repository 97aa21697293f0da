"""The workers' memo of cleaned records (cleaning.memo) changes nothing but the time: a corpus with
repeated files builds to the same bytes with it and without it, every copy still reaches the dedupe
and is counted there, and a copy whose sidecar changes its cleaning is cleaned again."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from london_llm.cleaning import build as build_mod
from london_llm.cleaning.build import build_corpus
from london_llm.cleaning.clean import CleaningOptions, DocumentInput, clean_document, process_item
from london_llm.cleaning.document import RawDocument
from london_llm.cleaning.memo import BoundedMemo
from london_llm.cleaning.sidecar import read_sidecar, sidecar_path, write_sidecar

SESSIONS = ("16780116.xml", "16760114.xml")
BOOK = "gutenberg-gitenberg-format-variants/pg25063/25063.txt"
COPIES = 3
VOLATILE = ("created", "seconds", "phase_seconds")


def _downloads(corpus: Path, root: Path) -> None:
    """Two sessions and a book, each under COPIES names; and the book again under sidecars that
    change how it is cleaned (another kind, a registry date out of range, another author)."""
    folder = root / "downloads" / "repeats"
    folder.mkdir(parents=True)
    for copy in range(COPIES):
        for name in SESSIONS:
            dst = folder / f"c{copy}_{name}"
            shutil.copyfile(corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers" / name, dst)
            write_sidecar(dst, source_id="repeats", kind="trial", fmt="oldbailey_tei", title="Old Bailey",
                          url=f"http://mirror/{dst.name}")
        dst = folder / f"c{copy}_book.txt"
        shutil.copyfile(corpus / BOOK, dst)
        write_sidecar(dst, source_id="repeats", kind="book", fmt="gutenberg_txt", url=f"http://mirror/{dst.name}")
    for name, changed in (("other", {"kind": "other"}), ("late", {"kind": "book", "date": "1950"}),
                          ("author", {"kind": "book", "author": "Someone Else"})):
        dst = folder / f"variant_{name}.txt"
        shutil.copyfile(corpus / BOOK, dst)
        write_sidecar(dst, source_id="variants", fmt="gutenberg_txt", url=f"http://mirror/{dst.name}", **changed)


def _outputs(root: Path) -> dict:
    stats = json.loads((root / "metadata" / "statistics.json").read_text(encoding="utf-8"))
    for key in VOLATILE:
        stats.pop(key, None)
        stats["totals"].pop(key, None)
    return {"documents": (root / "processed" / "documents.jsonl").read_bytes(),
            "corpus": (root / "corpus.txt").read_bytes(),
            "statistics": json.dumps(stats, ensure_ascii=False)}  # in its order: the file's bytes less the times


def _build(root: Path, workers: int) -> dict:
    shutil.rmtree(root / "processed", ignore_errors=True)
    build_corpus(root / "downloads", root / "processed", root / "corpus.txt", root / "metadata",
                 workers=workers, progress=False)
    return _outputs(root)


@pytest.mark.parametrize("workers", [1, 2])
def test_repeated_files_build_to_the_same_bytes_with_and_without_the_memo(shared_corpus, tmp_path, monkeypatch,
                                                                          workers):
    _downloads(shared_corpus, tmp_path)
    with_memo = _build(tmp_path, workers)
    if workers == 1:  # the memo is in this process: it must have been used, or the test shows nothing
        memo = build_mod._WORKER["memo"]
        assert memo.hits >= (COPIES - 1) * 20 and len(memo) > 0
    monkeypatch.setattr(build_mod, "MEMO_CHARS", 0)  # a memo that holds nothing: every record cleaned
    without = _build(tmp_path, workers)
    if workers == 1:
        assert build_mod._WORKER["memo"].hits == 0
    assert with_memo["statistics"] == without["statistics"]  # byte for byte (less the times), any worker count
    assert with_memo["documents"] == without["documents"]
    assert with_memo["corpus"] == without["corpus"]

    stats = json.loads(with_memo["statistics"])
    repeats = stats["sources"]["repeats"]
    kept = repeats["documents"]
    # every copy after the first is removed by the dedupe, document by document, as without a memo
    assert repeats["removed"]["exact_duplicate"]["documents"] == (COPIES - 1) * kept
    removed = repeats["contamination_chars_removed"]  # the book's apparatus, counted for every copy
    assert removed["editor_text"] and all(chars % COPIES == 0 for chars in removed.values())
    variants = stats["sources"]["variants"]
    assert variants["removed"]["out_of_range"]["documents"] == 1  # the copy dated 1950, and only it


def test_same_size_runs_go_to_one_worker_task(tmp_path, monkeypatch):
    """Files of one size (most often one file under several names) are one task, so one worker's
    memo sees them all; a task stays within TASK_FILES and TASK_BYTES; every item once, in order."""
    from london_llm.cleaning.sidecar import Item
    sizes = [500, 500, 500, 500, 500, 300, 300, 200, 100, 100]
    items = []
    for i, size in enumerate(sizes):
        (tmp_path / f"f{i}").write_bytes(b"x" * size)
        items.append(Item(tmp_path / f"f{i}", {}))
    monkeypatch.setattr(build_mod, "TASK_FILES", 3)
    monkeypatch.setattr(build_mod, "TASK_BYTES", 1400)
    tasks = build_mod._tasks(items)
    assert [[item.size for item in task] for task in tasks] == [[500, 500], [500, 500], [500], [300, 300], [200],
                                                               [100, 100]]
    assert [item for task in tasks for item in task] == items


def test_the_memo_is_bounded_by_the_characters_it_holds():
    memo = BoundedMemo(max_chars=100)
    for i in range(50):
        memo.put(i, f"value {i}", 30)
        assert memo.chars <= 100
    assert len(memo) == 3 and memo.get(49) == "value 49" and memo.get(0) is None
    memo.get(47)  # the least recently used goes first: 48, not the 47 just read
    memo.put("new", "x", 30)
    assert memo.get(48) is None and memo.get(47) == "value 47"
    memo.put("huge", "y", 101)  # larger than the whole memo: not kept, nothing evicted
    assert memo.get("huge") is None and len(memo) == 3
    memo.own("other options")
    assert len(memo) == 0 and memo.chars == 0


def test_the_key_holds_every_input_that_changes_the_cleaning():
    """Two inputs that clean differently never share a key (the memo would hand one the other's)."""
    text = "The Prisoner was indicted for stealing a silver watch, value 3 l. the goods of John Smith. " * 3
    raw = RawDocument(text=text, date="1750-01-17", kind="trial")
    base = DocumentInput.of(raw, {"kind": "trial"}, None)
    variants = [base._replace(**{field: value}) for field, value in (
        ("text", text + " Guilty."), ("kind", "book"), ("author", "A. N. Other"), ("record_date", "1950-01-01"),
        ("record_year", 1950), ("removed", (("url", 3),)), ("registry_year", 1700), ("registry_date", "1700"),
        ("catalogue", {"year": 1700}), ("user", {"year": "1701"}))]
    keys = {base.key()} | {v.key() for v in variants}
    assert len(keys) == len(variants) + 1
    options = CleaningOptions()
    assert clean_document(base, options) == clean_document(DocumentInput(*base), options)
    assert clean_document(base._replace(record_date="1950-01-01"), options).rejected[0] == "out_of_range"


def test_a_process_item_memo_is_emptied_when_the_options_change(shared_corpus, tmp_path):
    dst = tmp_path / SESSIONS[0]
    shutil.copyfile(shared_corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers" / SESSIONS[0], dst)
    write_sidecar(dst, source_id="s", kind="trial", fmt="oldbailey_tei")
    item, memo = read_sidecar(sidecar_path(dst)), BoundedMemo()
    first = process_item(item, CleaningOptions(), memo)
    assert memo.misses and not memo.hits
    again = process_item(item, CleaningOptions(), memo)
    assert memo.hits == memo.misses
    assert [c.record for c in again.candidates] == [c.record for c in first.candidates]
    hits, strict = memo.hits, CleaningOptions(require_year=True, long_s="keep")
    process_item(item, strict, memo)
    assert memo.owner == strict and memo.hits == hits  # nothing cleaned under the old options is reused
