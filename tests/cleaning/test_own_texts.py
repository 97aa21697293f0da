"""A user's own folder of .txt files (cleaning.own_texts, the collector's --add-texts): what is
imported, what is refused and why, the metadata each item gets, and reruns that add nothing twice."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from london_llm.cleaning import own_texts
from london_llm.cleaning.build import build_corpus
from london_llm.cleaning.dating import load_metadata
from london_llm.cleaning.own_texts import OwnTextsError, import_own_texts

from conftest import SHARED_CORPUS as CORPUS

BOOKS = CORPUS / "gutenberg-london-books-rcdm-uga" / "texts"
ESSAY = BOOKS / "Defoe_An_Essay_Upon_Projects.txt"
SKETCHES = BOOKS / "Dickens_Sketches_of_Young_Gentlemen.txt"  # curly quotes and dashes: all in cp1252
PROSE = ("It was about the beginning of September, 1664, that I, among the rest of my neighbours, heard in "
         "ordinary discourse that the plague was returned again in Holland; for it had been very violent there. ")
MAX = 1 << 20


def _import(folder, downloads, **kw):
    return import_own_texts(folder, downloads, max_bytes=kw.pop("max_bytes", MAX), **kw)


def _sidecars(downloads, source="own_texts") -> dict:
    return {p.name[:-len(".meta.json")]: json.loads(p.read_text()) for p in (downloads / source).glob("*.meta.json")}


def test_every_txt_and_txt_gz_recursively_one_item_each_with_safe_names(tmp_path):
    folder = tmp_path / "my texts"
    (folder / "vol 1").mkdir(parents=True)
    (folder / "a.txt").write_text(PROSE * 5, encoding="utf-8")
    (folder / "vol 1" / "Chapter: one?.txt").write_text(PROSE * 6, encoding="utf-8")
    (folder / "b.TXT.gz").write_bytes(gzip.compress((PROSE * 7).encode()))
    (folder / "notes.md").write_text(PROSE)  # not a .txt
    (folder / ".hidden.txt").write_text(PROSE)  # hidden: skipped
    summary = _import(folder, tmp_path / "dl")
    assert (summary.imported, summary.refused) == (3, [])
    side = _sidecars(tmp_path / "dl")
    assert sorted(side) == ["a.txt", "b.TXT", "vol_1__Chapter_one_.txt"]
    assert (tmp_path / "dl" / "own_texts" / "b.TXT").read_bytes() == (PROSE * 7).encode()  # decompressed
    meta = side["vol_1__Chapter_one_.txt"]
    assert meta["title"] == "Chapter: one?" and meta["origin"] == "my texts/vol 1/Chapter: one?.txt"
    assert meta["path"] == "vol 1/Chapter: one?.txt" and meta["format"] == "plain_txt"
    assert meta["kind"] == "book" and meta["licence"] is None and meta["collection"] == "own_texts"


def test_names_that_collide_after_sanitising_get_a_hash_each(tmp_path):
    folder = tmp_path / "t"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b.txt").write_text(PROSE * 5)
    (folder / "a__b.txt").write_text(PROSE * 6)
    _import(folder, tmp_path / "dl")
    names = sorted(_sidecars(tmp_path / "dl"))
    assert len(names) == 2 and all(n.startswith("a__b_") and n.endswith(".txt") for n in names)


@pytest.mark.parametrize("content, said", [
    (b"", "empty: put text in it"),
    (b"  \n\n \t\n", "empty: put text in it"),
    (b"<!DOCTYPE html><html><head><title>My page</title></head><body>x</body></html>",
     "an HTML page ('My page') saved as .txt: save it as plain text"),
    (b"%PDF-1.7\n...", "a PDF, not plain text: convert it to a .txt file"),
    (b"some text\x00\x01\x02 binary", "binary data (NUL bytes), not plain text"),
    (b"Copyright WORLD LIBRARY, INC. " + PROSE.encode(), "licensed for personal use only"),
])
def test_a_file_that_is_not_usable_text_is_refused_by_name_and_the_rest_imported(tmp_path, content, said):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "good.txt").write_text(PROSE * 5)
    (folder / "bad.txt").write_bytes(content)
    summary = _import(folder, tmp_path / "dl")
    assert summary.imported == 1 and len(summary.refused) == 1
    assert summary.refused[0].startswith(f"{folder / 'bad.txt'}: ") and said in summary.refused[0]
    assert sorted(_sidecars(tmp_path / "dl")) == ["good.txt"]


def test_size_bound_and_a_cut_gz_are_refused(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "big.txt").write_text(PROSE * 100)
    (folder / "bomb.txt.gz").write_bytes(gzip.compress(b"a " * 5000))
    (folder / "cut.txt.gz").write_bytes(gzip.compress((PROSE * 50).encode())[:60])
    (folder / "ok.txt").write_text(PROSE)
    summary = _import(folder, tmp_path / "dl", max_bytes=2000)
    said = "\n".join(summary.refused)
    assert "big.txt: 19,900 bytes, over the 2,000-byte limit" in said and "raise --max-bytes" in said
    assert "bomb.txt.gz: over the 2,000-byte limit for one file once decompressed" in said
    assert "cut.txt.gz: unreadable" in said and summary.imported == 1


def test_an_unreadable_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "ok.txt").write_text(PROSE)
    locked = folder / "locked.txt"
    locked.write_text(PROSE)
    read = Path.read_bytes

    def denied(self):  # (chmod 0 does not stop root, who may run the suite)
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return read(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    summary = _import(folder, tmp_path / "dl")
    assert "locked.txt: unreadable (Permission denied)" in summary.refused[0]


def test_missing_empty_or_all_refused_folder_is_one_error(tmp_path):
    with pytest.raises(OwnTextsError, match=r"--add-texts .*nope: no such folder; give the folder"):
        _import(tmp_path / "nope", tmp_path / "dl")
    (tmp_path / "file.txt").write_text(PROSE)
    with pytest.raises(OwnTextsError, match="file.txt: not a folder"):
        _import(tmp_path / "file.txt", tmp_path / "dl")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "x.md").write_text(PROSE)
    with pytest.raises(OwnTextsError, match=r"no \.txt or \.txt\.gz file in it \(looked in every subfolder\)"):
        _import(tmp_path / "empty", tmp_path / "dl")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "e.txt").write_bytes(b"")
    with pytest.raises(OwnTextsError, match=r"none of its 1 text file\(s\) is usable; first: .*e.txt: empty"):
        _import(tmp_path / "bad", tmp_path / "dl")
    with pytest.raises(OwnTextsError, match="--texts-kind 'novel' is not one of"):
        _import(tmp_path / "bad", tmp_path / "dl", kind="novel")
    assert not (tmp_path / "dl").exists()


def test_source_id_checked():
    assert own_texts.check_source_id("my_diaries") == "my_diaries"
    with pytest.raises(OwnTextsError, match="must be lower-case"):
        own_texts.check_source_id("../etc")
    with pytest.raises(OwnTextsError, match="is a registry source's id"):
        own_texts.check_source_id("gutenberg_376", ("gutenberg_376",))


def test_metadata_rows_by_name_or_path_give_title_author_licence_kind(tmp_path):
    folder = tmp_path / "t"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.txt").write_text(PROSE * 5)
    (folder / "y.txt").write_text(PROSE * 6)
    meta = tmp_path / "meta.jsonl"
    meta.write_text(json.dumps({"file": "sub/x.txt", "title": "The X", "author": "A. Writer",
                                "licence": "CC0 1.0", "kind": "diary"}) + "\n"
                    + json.dumps({"file": "y.txt", "year": 1701}) + "\n")
    _import(folder, tmp_path / "dl", metadata=load_metadata(meta), licence="CC BY 4.0")
    side = _sidecars(tmp_path / "dl")
    assert {k: side["sub__x.txt"][k] for k in ("title", "author", "licence", "kind")} == \
        {"title": "The X", "author": "A. Writer", "licence": "CC0 1.0", "kind": "diary"}
    assert side["y.txt"]["title"] == "y" and side["y.txt"]["licence"] == "CC BY 4.0"  # the flag's licence
    meta.write_text(json.dumps({"file": "y.txt", "kind": "letters"}) + "\n")
    summary = _import(folder, tmp_path / "dl2", metadata=load_metadata(meta))
    assert "kind 'letters' (its metadata row) is not one of" in summary.refused[0]


def test_rerun_adds_nothing_twice_and_new_metadata_rewrites_only_the_sidecar(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "a.txt").write_text(PROSE * 5)
    (folder / "b.txt").write_text(PROSE * 6)
    first = _import(folder, tmp_path / "dl")
    data = tmp_path / "dl" / "own_texts" / "a.txt"
    inode = data.stat().st_ino
    again = _import(folder, tmp_path / "dl")
    assert (first.imported, again.imported, again.updated, again.unchanged) == (2, 0, 0, 2)
    relicensed = _import(folder, tmp_path / "dl", licence="public domain")
    assert (relicensed.imported, relicensed.updated) == (0, 2) and data.stat().st_ino == inode  # data kept
    assert _sidecars(tmp_path / "dl")["a.txt"]["licence"] == "public domain"
    (folder / "a.txt").write_text(PROSE * 7)  # edited: imported again
    edited = _import(folder, tmp_path / "dl", licence="public domain")
    assert (edited.imported, edited.unchanged) == (1, 1) and data.read_text() == PROSE * 7


@pytest.mark.corpus
@pytest.mark.skipif(not ESSAY.is_file(), reason=f"needs the shared corpus at {CORPUS}")
def test_real_books_cp1252_and_gutenberg_go_through_the_same_cleaning(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "essay.txt").write_bytes(ESSAY.read_bytes())  # a Project Gutenberg file, UTF-8
    text = SKETCHES.read_text(encoding="utf-8")
    (folder / "sketches.txt").write_bytes(text.encode("cp1252"))
    (folder / "copy.txt.gz").write_bytes(gzip.compress(text.encode("utf-8")))  # the same text again
    summary = _import(folder, tmp_path / "dl", max_bytes=10 << 20)
    assert summary.imported == 3
    side = _sidecars(tmp_path / "dl")
    assert side["essay.txt"]["format"] == "gutenberg_txt" and side["essay.txt"]["title"] == "An Essay upon Projects"
    stats = build_corpus(tmp_path / "dl", tmp_path / "p", tmp_path / "c.txt", tmp_path / "m", workers=1,
                         progress=False)
    docs = [json.loads(line) for line in (tmp_path / "p" / "documents.jsonl").read_text().splitlines()]
    assert len(docs) == 2 and stats["sources"]["own_texts"]["documents"] == 2
    assert stats["sources"]["own_texts"]["removed"]["exact_duplicate"]["documents"] == 1
    essay = next(d for d in docs if d["title"] == "An Essay upon Projects")
    assert "Gutenberg" not in essay["text"] and essay["source"] == "own_texts"
    assert stats["sources"]["own_texts"]["contamination_chars_removed"]["editor_text"] > 0
    sketches = next(d for d in docs if d is not essay)
    assert sketches["origin"] in ("t/sketches.txt", "t/copy.txt.gz")  # the same text: either is kept
    assert sketches["text"].count("’") > 50  # cp1252 punctuation decoded, not mojibake
    assert "\ufffd" not in sketches["text"] and "â€" not in sketches["text"]


def test_metadata_rows_may_leave_the_year_out_and_name_a_path(tmp_path):
    meta = tmp_path / "m.csv"
    meta.write_text("file,title,licence,year\nvol 1\\x.txt,The X,CC0 1.0,\ny.txt,,,1750\n", encoding="utf-8")
    index = load_metadata(meta)
    assert index["vol 1/x.txt"] == index["x.txt"] == {"title": "The X", "licence": "CC0 1.0", "year": None}
    assert index["y.txt"] == {"year": 1750}
    meta.write_text("file,title,year\nz.txt,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 1 \(z.txt\) has no year \(nor a title, author, licence or kind\)"):
        load_metadata(meta)


def test_encodings_utf8_bom_cp1252_latin1_decoded_by_the_cleaning(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    prose = PROSE * 4 + "The reckoning came to £3, and the café keeper said: “No more.” — so we left. "
    (folder / "bom.txt").write_bytes(b"\xef\xbb\xbf" + (prose + "One.").encode("utf-8"))
    (folder / "win.txt").write_bytes((prose + "Two.").encode("cp1252"))
    latin = prose.replace("“", '"').replace("”", '"').replace("—", "-")
    (folder / "latin.txt").write_bytes((latin + "Three.").encode("latin-1"))
    _import(folder, tmp_path / "dl", kind="other")
    build_corpus(tmp_path / "dl", tmp_path / "p", tmp_path / "c.txt", tmp_path / "m", workers=1, progress=False)
    lines = (tmp_path / "p" / "documents.jsonl").read_text().splitlines()
    docs = {d["title"]: d["text"] for d in map(json.loads, lines)}
    assert sorted(docs) == ["bom", "latin", "win"]
    assert all("£3" in t and "café" in t and "\ufeff" not in t and "\ufffd" not in t for t in docs.values())
    assert "“No more.”" in docs["bom"] and "“No more.”" in docs["win"]


def test_a_folder_holding_downloads_does_not_import_its_own_copies(tmp_path):
    (tmp_path / "a.txt").write_text(PROSE * 5)
    _import(tmp_path, tmp_path / "dl")
    again = _import(tmp_path, tmp_path / "dl")
    assert (again.imported, again.unchanged) == (0, 1) and sorted(_sidecars(tmp_path / "dl")) == ["a.txt"]
