"""The dry run's file list (publishing.listing), one layout for both publishing scripts: every file with
its size and sha256, then the total; publish_dataset.py's dry run prints exactly it."""
from __future__ import annotations

from pathlib import Path

from london_llm.hashing import sha256_file
from london_llm.publishing.dataset_cli import DatasetDefaults, build_parser, run
from london_llm.publishing.export import ExportedFile
from london_llm.publishing.listing import upload_listing

from .test_dataset import _doc


def test_listing_names_each_file_its_size_and_sha256_then_the_total():
    files = [("README.md", 1234, "a" * 64), ExportedFile("data/train-00000-of-00001.parquet", 5_678_901, "b" * 64)]
    assert upload_listing("alice/corpus", Path("/x/ds"), files).splitlines() == [
        "Dry run: these files would be uploaded to alice/corpus from /x/ds:",
        f"  README.md                                  1,234 B  sha256 {'a' * 64}",
        f"  data/train-00000-of-00001.parquet      5,678,901 B  sha256 {'b' * 64}",
        "  total                                  5,680,135 B in 2 files"]


def test_dataset_dry_run_prints_the_shared_listing(tmp_path):
    from london_llm.cleaning.documents import write_documents

    docs = tmp_path / "documents.jsonl"
    write_documents([_doc(i) for i in range(6)], docs)
    defaults = DatasetDefaults(docs, {"slm": tmp_path / "none"}, {"slm": (0.2, 1)}, tmp_path / "ds")
    lines: list[str] = []
    assert run(build_parser(defaults).parse_args(["--dry_run", "--repo_id", "alice/corpus"]), defaults,
               log=lines.append) == 0
    out = tmp_path / "ds"
    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    listing = upload_listing("alice/corpus", out, [(str(p.relative_to(out)), p.stat().st_size, sha256_file(p))
                                                   for p in files])
    assert listing in lines
