"""`historical_data_collector.py --add-texts FOLDER`, run as a user runs it: a folder of real books
(one re-encoded to cp1252, one in a subfolder, one gzipped), an HTML page saved as .txt and an
empty file, with a metadata CSV; then the same command again, and the refusals."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_CORPUS as CORPUS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "02_data_collection" / "historical_data_collector.py"
BOOKS = CORPUS / "gutenberg-london-books-rcdm-uga" / "texts"
SKETCHES = BOOKS / "Dickens_Sketches_of_Young_Gentlemen.txt"
THOUGHTS = BOOKS / ("Defoe_Second_Thoughts_are_Best_Or_a_Further_Improvement_of_a_Late_Scheme_to_Prevent_"
                    "Street_Robberies.txt")
ESSAY = BOOKS / "Defoe_An_Essay_Upon_Projects.txt"

pytestmark = [pytest.mark.corpus,
              pytest.mark.skipif(not SKETCHES.is_file(), reason=f"needs the shared corpus at {CORPUS}")]


def collector(*args, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--home", str(home), "--no-progress", "--clean-workers", "1",
                           *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=600)


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own")
    folder = root / "My Texts"
    (folder / "Defoe").mkdir(parents=True)
    (folder / "sketches.txt").write_bytes(SKETCHES.read_text(encoding="utf-8").encode("cp1252"))
    (folder / "Defoe" / "Second Thoughts.txt").write_bytes(THOUGHTS.read_bytes())
    (folder / "Defoe" / "essay.txt.gz").write_bytes(gzip.compress(ESSAY.read_bytes()))
    (folder / "saved page.txt").write_text("<!DOCTYPE html>\n<html><head><title>Old Bailey search</title></head>"
                                           "<body><p>results</p></body></html>\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (root / "meta.csv").write_text("file,title,year,licence\n"
                                   "Defoe/Second Thoughts.txt,Second Thoughts are Best,1729,public domain\n"
                                   "sketches.txt,,1838,\n", encoding="utf-8")
    return root


def _outputs(home: Path):
    data = home / "data" / "london_historical"
    docs = [json.loads(line) for line in (data / "processed" / "documents.jsonl").read_text().splitlines()]
    stats = json.loads((data / "metadata" / "statistics.json").read_text())
    return docs, stats, data


def test_own_folder_imported_cleaned_dated_and_rerun_adds_nothing(texts, tmp_path):
    home = tmp_path / "home"
    args = ("--add-texts", texts / "My Texts", "--metadata", texts / "meta.csv")
    proc = collector(*args, home=home)
    assert proc.returncode == 0, proc.stderr
    assert "3 new, 0 with new metadata, 0 unchanged, 2 left out" in proc.stdout
    err = proc.stderr.splitlines()
    assert any("left out" in l and "saved page.txt: an HTML page ('Old Bailey search') saved as .txt" in l for l in err)
    assert any("left out" in l and "empty.txt: empty: put text in it, or remove it" in l for l in err)
    assert any("no licence stated" in l and "--texts-licence" in l for l in err)  # two of three have none
    assert "Traceback" not in proc.stderr

    docs, stats, data = _outputs(home)
    by_origin = {d["origin"]: d for d in docs}
    assert sorted(by_origin) == ["My Texts/Defoe/Second Thoughts.txt", "My Texts/Defoe/essay.txt.gz",
                                 "My Texts/sketches.txt"]
    thoughts = by_origin["My Texts/Defoe/Second Thoughts.txt"]
    assert (thoughts["title"], thoughts["year"], thoughts["year_source"], thoughts["licence"]) == \
        ("Second Thoughts are Best", 1729, "metadata", "public domain")
    sketches = by_origin["My Texts/sketches.txt"]
    assert (sketches["year"], sketches["year_source"], sketches["licence"]) == (1838, "metadata", None)
    assert sketches["title"] == "Sketches of Young Gentlemen"  # its Gutenberg Title: line (the row gives none)
    assert sketches["text"].count("’") > 50 and "â€" not in sketches["text"]  # cp1252 decoded
    essay = by_origin["My Texts/Defoe/essay.txt.gz"]
    assert essay["title"] == "An Essay upon Projects" and essay["year"] is None  # undated: counted and warned
    assert all(d["source"] == d["source_id"] == "own_texts" and d["kind"] == "book" for d in docs)
    assert all("Project Gutenberg" not in d["text"] for d in docs)  # the boilerplate rules applied
    own = stats["sources"]["own_texts"]
    assert (own["files"], own["documents"], own["undated"]) == (3, 3, 1)
    assert stats["totals"]["undated"] == 1 and "undated document(s)" in proc.stderr
    assert sum(own["contamination_chars_removed"].values()) > 0
    assert sorted(p.name for p in (data / "downloads" / "own_texts").iterdir() if not p.name.endswith(".json")) == \
        ["Defoe__Second_Thoughts.txt", "Defoe__essay.txt", "sketches.txt"]  # safe names
    report = json.loads((data / "metadata" / "own_texts_import.json").read_text())
    assert report["imported"] == 3 and len(report["refused"]) == 2

    before = (data / "processed" / "documents.jsonl").read_bytes()
    again = collector(*args, home=home)
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 with new metadata, 3 unchanged, 2 left out" in again.stdout
    assert (data / "processed" / "documents.jsonl").read_bytes() == before  # the same documents, once each

    require = collector(*args, "--require-year", "--texts-licence", "CC BY 4.0", home=home)
    assert require.returncode == 0, require.stderr
    assert "0 new, 2 with new metadata, 1 unchanged" in require.stdout and "no licence stated" not in require.stderr
    docs, stats, _ = _outputs(home)
    assert len(docs) == 2 and stats["totals"]["removed"]["undated"]["documents"] == 1
    assert {d["licence"] for d in docs} == {"public domain", "CC BY 4.0"}  # the row's licence beats the flag's


def test_refusals_are_one_line_each_and_exit_2(texts, tmp_path):
    home = tmp_path / "home"
    cases = [
        (("--add-texts", tmp_path / "missing"), "--add-texts", "missing: no such folder; give the folder holding"),
        (("--add-texts", texts / "meta.csv"), "--add-texts", "meta.csv: not a folder"),
        (("--add-texts", texts / "My Texts", "--texts-kind", "novel"), "--texts-kind 'novel' is not one of", "book"),
        (("--add-texts", texts / "My Texts", "--texts-source", "Bad Name"), "--texts-source 'Bad Name' must be", ""),
        (("--from-dir", texts / "My Texts"), "no file there is in a known source's layout",
         "or import a folder of your own .txt files with --add-texts FOLDER"),
        (("--texts-licence", "CC0"), "--texts-licence describe(s) the --add-texts FOLDER files", "add --add-texts"),
    ]
    (tmp_path / "nothing" / "deep").mkdir(parents=True)
    (tmp_path / "nothing" / "deep" / "a.pdf").write_bytes(b"%PDF-1.4")
    cases.append((("--add-texts", tmp_path / "nothing"), "no .txt or .txt.gz file in it", "put your plain-text files"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "scan.txt").write_bytes(b"%PDF-1.4 not text")
    cases.append((("--add-texts", tmp_path / "bad"), "none of its 1 text file(s) is usable",
                  "scan.txt: a PDF, not plain text: convert it to a .txt file"))
    for args, first, second in cases:
        proc = collector(*args, home=home)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert proc.returncode == 2 and len(lines) == 1, (args, proc.stderr)
        assert lines[0].startswith("error: ") and first in lines[0] and second in lines[0], lines[0]
    assert not (home / "data" / "london_historical" / "downloads").exists()  # nothing half-imported


def test_help_documents_the_flags():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0
    for flag in ("--add-texts FOLDER", "--texts-licence TEXT", "--texts-kind KIND", "--texts-source ID"):
        assert flag in proc.stdout
    assert "corpus dataset leaves them out" in " ".join(proc.stdout.split())


def test_clean_corpus_takes_the_same_flags(texts, tmp_path):
    script = REPO / "02_data_collection" / "clean_corpus.py"
    home = tmp_path / "home"
    proc = subprocess.run([sys.executable, str(script), "--home", str(home), "--no_progress", "--workers", "1",
                           "--add_texts", str(texts / "My Texts"), "--texts_licence", "CC0 1.0",
                           "--texts_kind", "other"],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "3 new, 0 with new metadata, 0 unchanged, 2 left out" in proc.stdout
    assert "no licence stated" not in proc.stderr
    docs, stats, _ = _outputs(home)
    assert len(docs) == 3 and {(d["kind"], d["licence"]) for d in docs} == {("other", "CC0 1.0")}
    alone = subprocess.run([sys.executable, str(script), "--home", str(home), "--texts_kind", "diary"],
                           capture_output=True, text=True, cwd=REPO, timeout=600)
    assert alone.returncode == 2 and "--texts-kind describe(s) the --add-texts FOLDER files" in alone.stderr
    assert "--add_texts" in subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                                           text=True, cwd=REPO).stdout
