"""The dataset export's columns (publishing.dataset): every field of documents.jsonl format 3 that it
publishes, `series` included, and documents of formats 1-2 (no `series`) still export, with null."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from london_llm.cleaning.documents import write_documents
from london_llm.publishing.corpus import corpus_stats
from london_llm.publishing.dataset import FIELDS, export_dataset

LICENCE = "public domain (test)"


def _doc(i: int, **extra) -> dict:
    text = f"Document number {i} of the London test corpus, with a few words."
    return {"id": f"doc-{i}", "source": "London Lives", "source_id": "london_lives", "kind": "parish",
            "title": f"Title {i}", "author": None, "date": "1750", "year": 1750, "decade": 1750,
            "licence": LICENCE, "origin": f"file{i}.xml", "sha256": f"{i:064x}", "chars": len(text),
            "words": len(text.split()), "text": text, **extra}


def _export(documents, tmp_path):
    export = export_dataset(documents, tmp_path / "ds", stats=corpus_stats(documents), data_dir=None,
                            fallback_split=(0.2, 1), repo_id="alice/test-corpus", log=lambda _m: None)
    rows = [r for path in sorted((tmp_path / "ds" / "data").glob("*.parquet"))
            for r in pq.read_table(path).to_pylist()]
    schema = pq.read_schema(next((tmp_path / "ds" / "data").glob("*.parquet")))
    return export, rows, schema


def test_series_is_a_published_column_with_its_meaning_in_the_card(tmp_path):
    docs = [_doc(i, series="sessions papers" if i % 2 else None, year_source="date") for i in range(10)]
    path = tmp_path / "documents.jsonl"
    write_documents(docs, path)  # format 3, as the cleaning build writes it
    _, rows, schema = _export(path, tmp_path)
    assert schema.names == list(FIELDS) and "series" in FIELDS
    assert str(schema.field("series").type) == "string" and schema.field("series").nullable
    by_id = {d["id"]: d for d in docs}
    assert sorted(r["id"] for r in rows) == sorted(by_id)
    for row in rows:
        assert row["series"] == by_id[row["id"]]["series"]
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "| `series` | record series" in card


@pytest.mark.parametrize("version", [1, 2])
def test_documents_without_series_still_export_with_null(tmp_path, version):
    path = tmp_path / "documents.jsonl"
    write_documents([_doc(i) for i in range(6)], path)  # no `series`, as formats 1-2 were written
    meta = path.with_name("documents.meta.json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format_version": version}))
    export, rows, schema = _export(path, tmp_path)
    assert sum(export.rows.values()) == 6 and schema.names == list(FIELDS)
    assert all(r["series"] is None for r in rows)


def test_own_texts_without_a_licence_are_left_out_with_one_message_saying_how(tmp_path):
    own = [_doc(i, source="own_texts", source_id="own_texts", licence=None if i % 2 else "CC BY 4.0")
           for i in range(10, 14)]
    path = tmp_path / "documents.jsonl"
    write_documents([_doc(i) for i in range(8)] + own, path)
    said = []
    export = export_dataset(path, tmp_path / "ds", stats=corpus_stats(path), data_dir=None, fallback_split=(0.2, 1),
                            repo_id="alice/test-corpus", log=said.append)
    assert export.left_out == {"own_texts": "your own texts, 2 of them with no licence that allows redistribution"}
    lines = [m for m in said if "own_texts" in m]
    assert len(lines) == 1 and "--add-texts FOLDER --texts-licence TEXT" in lines[0]
    assert sum(export.rows.values()) == 8  # the registered source only
    licensed = [_doc(i, source="own_texts", source_id="own_texts", licence="CC BY 4.0") for i in range(10, 14)]
    write_documents([_doc(i) for i in range(8)] + licensed, path)
    export = export_dataset(path, tmp_path / "ds2", stats=corpus_stats(path), data_dir=None, fallback_split=(0.2, 1),
                            repo_id="alice/test-corpus", log=lambda _m: None)
    assert export.left_out == {} and sum(export.rows.values()) == 12
    assert export.front_matter["license"] == "cc-by-4.0"


def test_the_model_export_warns_of_own_texts_without_a_licence(tmp_path):
    from london_llm.publishing.corpus import unlicensed_own_texts

    path = tmp_path / "documents.jsonl"
    write_documents([_doc(1), _doc(2, source="own_texts", source_id="my_letters", licence=None)], path)
    warning = unlicensed_own_texts(corpus_stats(path))
    assert warning.startswith("WARNING: the model was trained on your own texts")
    assert "my_letters (1 documents)" in warning
    assert "--texts-licence TEXT" in warning
    write_documents([_doc(1), _doc(2, source="own_texts", source_id="my_letters", licence="CC0 1.0")], path)
    assert unlicensed_own_texts(corpus_stats(path)) is None
