"""Every dating route, end to end through clean_corpus.py on real files (and files the test builds)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from london_llm.cleaning import dating, gutenberg_txt

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "02_data_collection" / "clean_corpus.py"
BOOKS = "gutenberg-london-books-rcdm-uga/texts/"
STORM = BOOKS + "Defoe_The_Storm_or_a_Collection_of_the_most_Remarkable_Casualties_and_Disasters_which_Happen_d_in_the_Late_Dre.txt"
INQUESTS = "london-lives-westminster-coroners-inquests/coroners_inquests/"

RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xml:base="http://www.gutenberg.org/" xmlns:pgterms="http://www.gutenberg.org/2009/pgterms/"
  xmlns:dcterms="http://purl.org/dc/terms/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:marcrel="http://id.loc.gov/vocabulary/relators/">
  <pgterms:ebook rdf:about="ebooks/{n}">
    <dcterms:issued rdf:datatype="http://www.w3.org/2001/XMLSchema#date">2005-07-06</dcterms:issued>
    <pgterms:marc260>{imprint}</pgterms:marc260>
    <marcrel:edt><pgterms:agent rdf:about="2009/agents/1"><pgterms:name>Later, Ed</pgterms:name>
      <pgterms:birthdate>1890</pgterms:birthdate></pgterms:agent></marcrel:edt>
    <dcterms:title>A Built Record</dcterms:title>
    <dcterms:creator><pgterms:agent rdf:about="2009/agents/2"><pgterms:name>Writer, A.</pgterms:name>
      <pgterms:deathdate>1882</pgterms:deathdate><pgterms:birthdate>1805</pgterms:birthdate></pgterms:agent></dcterms:creator>
  </pgterms:ebook>
</rdf:RDF>"""


def test_catalogue_year_is_the_source_editions_imprint_within_the_authors_life():
    record = dating.read_catalogue_record(RDF.format(n=1, imprint="London : Bentley, 1839").encode())
    assert record["creators"][0] == {"name": "Writer, A.", "birth": 1805, "death": 1882}
    assert record["contributors"][0]["role"] == "edt"
    assert dating.catalogue_year(record) == 1839
    modern = dating.read_catalogue_record(RDF.format(n=1, imprint="Internationale Bibliothek Berlin 1922").encode())
    assert dating.catalogue_year(modern) is None  # a later edition's year, not the text's
    assert dating.catalogue_year({"marc260": "London, 1839", "creators": []}) is None  # no life dates: no trust


def test_record_years_in_words_and_roman_numerals():
    assert dating.words_to_year("One Thousand Seven hundred and sixty Before John Feary") == 1760
    assert dating.words_to_year("seventeen hundred and fifty-nine") == 1759
    assert dating.roman_value("M DCC IV.") == 1704 and dating.roman_value("MDCCXXXI") == 1731
    assert dating.record_year("taken the Sixteenth day of February in the Year of our Lord One Thousand "
                              "Seven hundred and sixty Before John Feary") == 1760


@pytest.mark.parametrize("rel,year", [
    (STORM, 1704),  # "Printed for G. Sawbridge ... M DCC IV."
    (BOOKS + "Defoe_Second_Thoughts_are_Best_Or_a_Further_Improvement_of_a_Late_Scheme_to_Prevent_Street_Robberies.txt", 1729),
    (BOOKS + "Swift_The_Bickerstaff_Partridge_Papers.txt", 1708),
    # a modern edition's imprint ("LONDON: CHAPMAN & HALL, LD. ... 1903") and Release Date are not the text's
    (BOOKS + "Dickens_Sketches_by_Boz_Illustrative_of_Every_Day_Life_and_Every_Day_People.txt", None),
    (BOOKS + "Pope_The_Rape_of_the_Lock_and_Other_Poems.txt", None),  # "THIS EDITION PUBLISHED 1906"
    (BOOKS + "Dickens_A_Christmas_Carol.txt", None),  # "FIRST PUBLISHED 1915 / REPRINTED 1923, ..."
])
def test_title_page_years_of_real_books(shared_corpus, rel, year):
    text = gutenberg_txt.parse((shared_corpus / rel).read_bytes(), {})[0].text
    assert dating.title_page_year(text) == year


def test_metadata_files_csv_and_json_lines(tmp_path):
    csv_file = tmp_path / "years.csv"
    csv_file.write_text("file,year,title\nmy_book.txt,1761,A Book of Mine\n", encoding="utf-8")
    assert dating.load_metadata(csv_file)["my_book.txt"] == {"title": "A Book of Mine", "year": 1761}
    jsonl = tmp_path / "years.jsonl"
    jsonl.write_text('{"ebook": 42234, "date": "1704-07-01"}\n', encoding="utf-8")
    index = dating.load_metadata(jsonl)
    assert dating.metadata_entry(index, {"ebook": "42234"}, "x.txt") == {"date": "1704-07-01", "year": 1704}
    jsonl.write_text('{"ebook": 42234}\n', encoding="utf-8")
    with pytest.raises(dating.MetadataError, match="row 1 .*no year"):
        dating.load_metadata(jsonl)


def _run(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLEAN), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def tree(shared_corpus, tmp_path_factory) -> Path:
    """Books under no registry entry, one with a catalogue record, inquests without their catalogue."""
    root = tmp_path_factory.mktemp("dating_tree")
    for rel in (STORM, BOOKS + "Dickens_Sunday_Under_Three_Heads.txt", BOOKS + "Doyle_The_Cabman_s_StoryThe_Mysteries_of_a_London_Growler.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_corpus / rel, root / rel)
    variant = root / "gutenberg-gitenberg-format-variants/pg16215"
    variant.mkdir(parents=True)
    shutil.copyfile(shared_corpus / "gutenberg-gitenberg-format-variants/pg16215/16215-8.txt", variant / "16215-8.txt")
    (variant / "pg16215.rdf").write_text(RDF.format(n=16215, imprint="London : R. Bentley, 1839"), encoding="utf-8")
    inquests = root / INQUESTS / "wa_inq_txt"
    inquests.mkdir(parents=True)
    for path in sorted((shared_corpus / INQUESTS / "wa_inq_txt").glob("*.txt"))[:3]:
        shutil.copyfile(path, inquests / path.name)
    (root / "empty_registry.json").write_text('{"format_version": 1, "sources": []}', encoding="utf-8")
    return root


def _build(tree: Path, home: Path, *extra) -> tuple[subprocess.CompletedProcess, list, dict]:
    proc = _run("--home", home, "--from_dir", tree, "--registry", tree / "empty_registry.json", "--workers", 1,
                "--no_progress", *extra, cwd=tree)
    data = home / "data" / "london_historical"
    docs = [json.loads(line) for line in (data / "processed/documents.jsonl").read_text().splitlines()] \
        if proc.returncode == 0 else []
    stats = json.loads((data / "metadata/statistics.json").read_text()) if proc.returncode == 0 else {}
    return proc, docs, stats


@pytest.mark.slow
def test_each_route_dates_documents_and_the_undated_are_listed(tree, tmp_path):
    metadata = tmp_path / "mine.csv"
    metadata.write_text("ebook,year\n17398,1884\n", encoding="utf-8")  # the Cabman's Story, by ebook number
    proc, docs, stats = _build(tree, tmp_path / "h1", "--metadata", metadata)
    assert proc.returncode == 0, proc.stderr
    by_title = {(d["title"] or "")[:20]: (d["year"], d["year_source"]) for d in docs if d["kind"] == "book"}
    assert (1704, "text") in by_title.values()  # The Storm: its title page, M DCC IV.
    assert (1839, "catalogue") in by_title.values()  # Jack Sheppard: the built RDF record
    assert (1884, "metadata") in by_title.values()  # the user's file
    assert (None, None) in by_title.values()  # Sunday Under Three Heads: only a 1905 edition's imprint
    inquests = [d for d in docs if d["source_id"] == "london_lives_coroners_inquests"]
    assert inquests and all(d["year"] and d["year_source"] == "text" for d in inquests)  # "Year of our Lord ..."
    assert "without their catalogue" in proc.stderr  # warned
    assert stats["totals"]["undated"] == stats["undated"]["documents"] == 1
    assert "Sunday" in stats["undated"]["list"][0]["title"] and "undated" in proc.stdout
    assert stats["totals"]["year_sources"] == {"text": 4, "catalogue": 1, "metadata": 1, "none": 1}
    assert "no year" in proc.stderr  # the undated are warned about


@pytest.mark.slow
def test_require_year_drops_the_undated_and_a_bad_metadata_file_is_one_message(tree, tmp_path):
    proc, docs, stats = _build(tree, tmp_path / "h2", "--require_year")
    assert proc.returncode == 0, proc.stderr
    assert all(d["year"] for d in docs) and stats["totals"]["removed"]["undated"]["documents"] >= 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"file": "x.txt"}\n', encoding="utf-8")
    proc, _, _ = _build(tree, tmp_path / "h3", "--metadata", bad)
    assert proc.returncode == 2 and "bad.jsonl: row 1 (x.txt) has no year" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_metadata_file_over_the_limit_is_one_clear_error_not_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(dating, "MAX_METADATA_BYTES", 100)
    big = tmp_path / "meta.csv"
    big.write_text("file,year\n" + "".join(f"book{i}.txt,1750\n" for i in range(20)), encoding="utf-8")
    with pytest.raises(dating.MetadataError, match=r"--metadata .*meta\.csv: 3\d\d bytes, over the 100 .*one row per file"):
        dating.load_metadata(big)
