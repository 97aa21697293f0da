"""The cleaning stage end to end, the way a user runs it: the scripts, on real shared-corpus files."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from london_llm.cleaning import contamination
from london_llm.cleaning import documents as documents_format
from london_llm.cleaning.build import BuildError, build_corpus
from london_llm.cleaning.importer import import_from_dir
from london_llm.cleaning.sidecar import write_sidecar
from tests.cleaning.golden_slice import BUILD_SLICE

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "02_data_collection" / "clean_corpus.py"
COUNT = REPO / "02_data_collection" / "count_tokens.py"

# A slice of ../shared/corpus in its own layout: every format, and the same texts more than once
# (the golden slice's files less four: tests/cleaning/golden_slice.py).
SUBSET = BUILD_SLICE
WORLD_LIBRARY = (b"<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM SHAKESPEARE IS COPYRIGHT 1990-1993 BY "
                 b"WORLD LIBRARY, INC., AND IS PROVIDED BY PROJECT GUTENBERG ETEXT OF ILLINOIS BENEDICTINE COLLEGE>>\r\n")


@pytest.fixture(scope="module")
def source_tree(shared_corpus, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus_slice")
    for rel in SUBSET:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_corpus / rel, root / rel)
    # a restricted World Library file (header quoted in FORMATS.md over a real play) and scanner noise
    henry = (shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Shakespeare__Henry_VIII.txt").read_bytes()
    (root / "gutenberg-london-books-rcdm-uga/texts/Hamlet.txt").write_bytes(WORLD_LIBRARY + henry)
    inquest = root / "london-lives-westminster-coroners-inquests/coroners_inquests/wa_inq_txt/WACWIC652000005_652000004.txt"
    inquest.write_bytes(inquest.read_bytes() + b"\nImage: https://www.londonlives.org/browse.jsp?div=WACWIC652000005 "
                        b"(e-mail corrections to editor@londonlives.org)\n")
    djvu = (shared_corpus / "ia-djvu-ocr-samples/philtrans07681315_07681315_djvu.txt").read_bytes()
    (root / "ia-djvu-ocr-samples/philtrans07681315_07681315_djvu.txt").write_bytes(
        b"Digitized by the Internet Archive \nin 2011 with funding from \nUniversity of Toronto \n\n"
        b"http://www.archive.org/details/philtrans07681315 \n\n" + djvu + b"\n\nDigitized by Google \n")
    return root


def run(script: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def built(source_tree, tmp_path_factory):
    """clean_corpus.py --from_dir over the slice, run from an unrelated directory."""
    home = tmp_path_factory.mktemp("home")
    elsewhere = tmp_path_factory.mktemp("cwd")
    proc = run(CLEAN, "--home", home, "--from_dir", source_tree, "--workers", 2, "--no_progress", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    data = home / "data" / "london_historical"
    return {"home": home, "data": data, "stdout": proc.stdout, "cwd": elsewhere,
            "docs": [json.loads(line) for line in (data / "processed/documents.jsonl").open(encoding="utf-8")],
            "stats": json.loads((data / "metadata/statistics.json").read_text(encoding="utf-8"))}


FIELDS = ["id", "source", "source_id", "kind", "series", "title", "author", "date", "year", "year_source", "decade",
          "licence", "origin", "sha256", "chars", "words", "editorial_removed", "text"]


def test_documents_follow_the_format(built):
    import hashlib
    docs = built["docs"]
    assert len({d["id"] for d in docs}) == len(docs) > 100
    for d in docs:
        assert list(d) == FIELDS
        assert d["sha256"] == hashlib.sha256(d["text"].encode()).hexdigest()
        assert d["chars"] == len(d["text"]) and d["words"] == len(d["text"].split())
        assert d["kind"] in {"trial", "ordinary", "book", "diary", "parish", "pamphlet", "ocr", "other"}
        assert d["decade"] == (d["year"] // 10 * 10 if d["year"] else None)
    meta = json.loads((built["data"] / "processed/documents.meta.json").read_text())
    jsonl = (built["data"] / "processed/documents.jsonl").read_bytes()
    assert meta["format_version"] == documents_format.FORMAT_VERSION and meta["documents"] == len(docs)
    assert meta["sha256"] == hashlib.sha256(jsonl).hexdigest()
    assert meta["options"]["long_s"] == "normalise"
    corpus = (built["data"] / "london_historical_corpus_comprehensive.txt").read_text(encoding="utf-8")
    assert corpus == "\n\n".join(d["text"] for d in docs) + "\n"
    kinds = {d["kind"] for d in docs}
    assert kinds == {"trial", "ordinary", "book", "diary", "parish", "pamphlet", "ocr"}
    series = {(d["kind"], d["series"]) for d in docs}  # London Lives' record types; no other source names one
    assert {s for k, s in series if k == "parish"} == {"coroners' inquests", "removal orders"}
    assert {s for k, s in series if k != "parish"} == {None}


def test_nothing_modern_reaches_the_corpus(built):
    corpus = (built["data"] / "london_historical_corpus_comprehensive.txt").read_text(encoding="utf-8")
    assert contamination.find(corpus) is None
    for modern in ("Gutenberg", "http", "www.", "Digitized", "Internet Archive", "SMALL PRINT", "See summary",
                   "eBook", "Etext", "@"):
        assert modern not in corpus, modern
    assert "ſ" not in corpus  # long s normalised by default
    assert not re.search(r"[a-z],\d{2,}", corpus)  # no endnote markers (humour,716)


def test_each_text_is_kept_once(built):
    corpus = (built["data"] / "london_historical_corpus_comprehensive.txt").read_text(encoding="utf-8")
    assert corpus.count("END OF THE FIRST EPOCH.") == 1  # two file variants of Jack Sheppard
    assert corpus.count("Through all the Employments of Life") == 1  # The Beggar's Opera, twice
    assert corpus.count("BEING THE First EXECUTION in the MAYORALTY") == 1  # Ordinary's Account XML + text
    assert corpus.count("Anne Buckler and Elizabeth Jefferys, both of the Parish") == 1  # API record + session
    removed = built["stats"]["totals"]["removed"]
    assert removed["near_duplicate"]["documents"] + removed["exact_duplicate"]["documents"] >= 4


def test_statistics_count_every_filter(built):
    stats = built["stats"]
    sources = stats["sources"]
    assert set(sources) >= {"gutenberg_format_variants", "gutenberg_london_books", "old_bailey_sessions",
                            "old_bailey_ordinarys_accounts", "ordinarys_accounts_txt", "old_bailey_api",
                            "london_lives_coroners_inquests", "london_lives_removal_orders",
                            "standard_ebooks_pepys_diary", "eebo_tcp_london", "internet_archive_samples"}
    for s in sources.values():
        assert {"documents", "chars", "words", "files", "bytes", "removed"} <= set(s)
    assert sum(s["documents"] for s in sources.values()) == stats["totals"]["documents"] == len(built["docs"])
    assert sources["gutenberg_london_books"]["removed"]["licence_restricted"]["documents"] == 1
    assert sources["standard_ebooks_pepys_diary"]["removed"]["editorial_matter"]["documents"] == 1
    assert sources["old_bailey_api"]["removed"]["api_snippet"]["documents"] == 10
    assert stats["totals"]["contamination_chars_removed"]["scanner"] > 0
    assert stats["totals"]["contamination_chars_removed"]["url"] > 0
    assert stats["totals"]["contamination_chars_removed"]["email"] > 0
    assert "removed" in built["stdout"] and "MB/s" in built["stdout"]


def test_rerun_is_incremental_and_deterministic(built, source_tree):
    first = (built["data"] / "processed/documents.jsonl").read_bytes()
    proc = run(CLEAN, "--home", built["home"], "--from_dir", source_tree, "--workers", 1, "--no_progress",
               cwd=built["cwd"])
    assert proc.returncode == 0, proc.stderr
    assert "imported 0 file(s)" in proc.stdout
    assert (built["data"] / "processed/documents.jsonl").read_bytes() == first  # 1 worker == 2 workers
    assert (built["home"] / "logs" / "data_cleaning.log").is_file()


def test_count_tokens_with_and_without_a_tokenizer(built, tmp_path):
    data_dir = built["data"] / "processed"
    proc = run(COUNT, "--data_dir", data_dir, "--tokenizer_dir", tmp_path / "none", "--json", "--no_progress",
               cwd=built["cwd"])
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert "no trained tokenizer" in proc.stderr and counts["tokenizer"] is False
    assert counts["total"]["words"] == sum(d["words"] for d in built["docs"])
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator((d["text"] for d in built["docs"][:300]), trainers.BpeTrainer(vocab_size=500))
    (tmp_path / "tok").mkdir()
    tok.save(str(tmp_path / "tok" / "tokenizer.json"))
    proc = run(COUNT, "--data_dir", data_dir, "--tokenizer_dir", tmp_path / "tok", "--no_progress", cwd=built["cwd"])
    assert proc.returncode == 0, proc.stderr
    assert "tokens" in proc.stdout.splitlines()[0] and "TOTAL" in proc.stdout
    proc = run(COUNT, "--data_dir", tmp_path / "missing", cwd=built["cwd"])
    assert proc.returncode == 2 and "clean_corpus.py" in proc.stderr


def test_count_tokens_guide_spelling_reads_the_artifact_root(built, tmp_path):
    # the guide's `--data_dir data/london_historical/processed`, with artifacts under $LONDON_LLM_HOME
    import os
    env = {**os.environ, "LONDON_LLM_HOME": str(built["home"])}
    proc = subprocess.run([sys.executable, str(COUNT), "--data_dir", "data/london_historical/processed",
                           "--tokenizer_dir", str(tmp_path / "none"), "--json", "--no_progress"],
                          cwd=built["cwd"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"]["words"] == sum(d["words"] for d in built["docs"])


def test_from_dir_with_nothing_recognisable_says_so(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "page.html").write_text("<html><body><p>London</p></body></html>")
    proc = run(CLEAN, "--home", tmp_path / "home", "--from_dir", tmp_path / "pages", "--no_progress", cwd=tmp_path)
    assert proc.returncode == 2 and "page.html" in proc.stderr and "known source" in proc.stderr
    assert "run 02_data_collection" not in proc.stderr and "Traceback" not in proc.stderr


def test_help_documents_every_flag():
    text = run(CLEAN, "--help", cwd=REPO).stdout
    for flag in ("--from_dir", "--downloads_dir", "--processed_dir", "--corpus_file", "--metadata_dir",
                 "--min_year", "--max_year", "--long_s", "--min_chars", "--min_words", "--near_threshold",
                 "--workers", "--no_progress", "--log_file", "--home", "--json", "--metadata", "--require_year",
                 "--keep_editorial", "--no_unwrap", "--registry"):
        assert flag in text
    assert "--data_dir" in run(COUNT, "--help", cwd=REPO).stdout


def test_bad_input_gets_one_clear_message(tmp_path, shared_corpus):
    proc = run(CLEAN, "--home", tmp_path / "empty", "--no_progress", cwd=tmp_path)
    assert proc.returncode == 2 and "historical_data_collector.py" in proc.stderr
    assert proc.stderr.count("\n") <= 2  # one message, no traceback
    downloads = tmp_path / "downloads"
    good = downloads / "s" / "OA17480622.txt"
    good.parent.mkdir(parents=True)
    shutil.copyfile(shared_corpus / "old-bailey-ordinarys-accounts-txt/oa_txt/OA17480622.txt", good)
    write_sidecar(good, source_id="s", kind="ordinary", fmt="ordinary_txt", origin="OA17480622.txt", year=1748)
    broken = downloads / "s" / "17280117.xml"
    broken.write_bytes((shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17280117.xml").read_bytes()[:5000])
    write_sidecar(broken, source_id="s", kind="trial", fmt="oldbailey_tei", year=1728)
    (downloads / "s" / "orphan.txt.meta.json").write_text("{not json")
    late = downloads / "s" / "late.txt"  # real text dated after the range
    late.write_bytes(good.read_bytes())
    write_sidecar(late, source_id="s", kind="other", fmt="plain_txt", year=1950)
    stats = build_corpus(downloads, tmp_path / "p", tmp_path / "c.txt", tmp_path / "m", workers=1, progress=False)
    assert stats["totals"]["documents"] == 1
    assert stats["sources"]["s"]["removed"]["unreadable"]["documents"] == 1
    assert stats["sources"]["s"]["removed"]["out_of_range"]["documents"] == 1
    assert any("17280117.xml" in e and "truncated" in e for e in stats["errors"])
    assert any("orphan.txt.meta.json" in e and "rerun the collector" in e for e in stats["errors"])
    with pytest.raises(BuildError, match="long_s"):
        build_corpus(downloads, tmp_path / "p", tmp_path / "c.txt", tmp_path / "m", long_s="maybe")


def test_importer_maps_every_shared_folder(shared_corpus, tmp_path):
    summary = import_from_dir(shared_corpus / "eebo-tcp-london-samples", tmp_path / "d", rules=())
    assert summary["imported"] == 0 and "A81426.xml" in " ".join(summary["unmapped"])
    from london_llm.cleaning.importer import RULES
    folders = {rule.pattern.split("/")[0] for rule in RULES}
    text_folders = {p.name for p in shared_corpus.iterdir() if p.is_dir()} - {"source-lists-hellolondon"}
    assert folders == text_folders


def test_every_document_filter_is_counted(tmp_path, shared_corpus):
    """Licence text, Latin, OCR noise, a fragment: each removed and counted under its filter."""
    from cleaning.test_cleaning_units import LATIN
    downloads = tmp_path / "downloads" / "local"
    downloads.mkdir(parents=True)
    raw = (shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Collins_Basil.txt").read_text(encoding="utf-8")
    licence = raw[raw.index("*** END OF THIS PROJECT GUTENBERG EBOOK"):]  # the real licence footer
    noise = (shared_corpus / "ia-djvu-ocr-samples/philtrans01419782_01419782_djvu.txt").read_bytes()
    cases = {"licence.txt": licence.encode(), "latin.txt": LATIN.encode(),
             "noise.txt": bytes(b if b in b" \n" else (b * 7) % 94 + 33 for b in noise),
             "short.txt": b"Guilty. Death.", "keep.txt": noise}
    for name, data in cases.items():
        (downloads / name).write_bytes(data)
        write_sidecar(downloads / name, source_id="local", kind="other", fmt="plain_txt", year=1852)
    stats = build_corpus(tmp_path / "downloads", tmp_path / "p", tmp_path / "c.txt", tmp_path / "m",
                         workers=1, progress=False)
    removed = stats["sources"]["local"]["removed"]
    assert {k: v["documents"] for k, v in removed.items()} == {
        "modern_contamination": 1, "not_english": 1, "ocr_garbage": 1, "too_short": 1}
    assert stats["totals"]["documents"] == 1
    assert stats["sources"]["local"]["contamination_chars_removed"]["licence"] > 5_000


def test_statistics_count_each_editorial_class_and_show_none_left(built):
    from london_llm.cleaning import editorial
    totals = built["stats"]["totals"]
    removed = totals["contamination_chars_removed"]
    assert set(editorial.CLASSES) <= set(removed) and set(editorial.CLASSES) <= set(totals["residual_documents"])
    assert removed["editor_text"] > 5000 and removed["modern_title_page"] > 0  # The Beggar's Opera's 1921 edition
    assert not any(totals["residual_documents"].values())
    opera = next(d for d in built["docs"] if d["title"] == "The Beggar's Opera")
    assert opera["editorial_removed"]["editor_text"] > 5000 and opera["year_source"] == "registry"
    per_document = {e["id"]: e for e in built["stats"]["editorial_by_document"]}
    assert per_document[opera["id"]]["editor_text"] == opera["editorial_removed"]["editor_text"]
    corpus = (built["data"] / "london_historical_corpus_comprehensive.txt").read_text(encoding="utf-8")
    assert "Dead at the age of thirty-one" not in corpus and "William Heinemann" not in corpus
    assert "traces left in the corpus: none" in built["stdout"]


@pytest.mark.slow
def test_keep_editorial_keeps_the_apparatus_and_the_counters_see_it(shared_corpus, tmp_path):
    tree = tmp_path / "tree" / "gutenberg-london-books-rcdm-uga/texts"
    tree.mkdir(parents=True)
    shutil.copyfile(shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Morley_The_History_of_John_Bull.txt",
                    tree / "Morley_The_History_of_John_Bull.txt")
    results = {}
    for flag in ((), ("--keep_editorial",)):
        home = tmp_path / ("keep" if flag else "clean")
        proc = run(CLEAN, "--home", home, "--from_dir", tmp_path / "tree", "--workers", 1, "--no_progress", *flag,
                   cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        data = home / "data" / "london_historical"
        results[bool(flag)] = (json.loads((data / "metadata/statistics.json").read_text())["totals"],
                               (data / "london_historical_corpus_comprehensive.txt").read_text(encoding="utf-8"))
    (clean, clean_text), (kept, kept_text) = results[False], results[True]
    assert "INTRODUCTION BY HENRY MORLEY" not in clean_text and "INTRODUCTION BY HENRY MORLEY" in kept_text
    assert clean["contamination_chars_removed"]["editor_text"] > 4000 and kept["contamination_chars_removed"]["editor_text"] == 0
    assert not any(clean["residual_documents"].values()) and kept["residual_documents"]["editor_text"] == 1


def test_the_copy_with_typography_is_kept(built):
    books = {d["title"]: d for d in built["docs"] if d["source_id"] == "gutenberg_format_variants"}
    assert set(books) == {"Jack Sheppard", "The Beggar's Opera"}
    for doc in books.values():  # the ISO-8859-1 file, not the ASCII one
        assert any(ord(ch) > 127 for ch in doc["text"])


def test_import_sidecars_carry_the_download_fields(built, shared_corpus):
    import hashlib
    downloads = built["data"] / "downloads"
    sidecars = sorted(downloads.rglob("*.meta.json"))
    assert len(sidecars) == len(SUBSET) + 1  # + the World Library file
    for side in sidecars:
        meta = json.loads(side.read_text())
        for key in ("format_version", "source_id", "kind", "format", "title", "author", "date", "year",
                    "licence", "origin", "bytes", "md5", "sha256", "retrieved"):
            assert key in meta, (side.name, key)
        data = side.with_name(side.name[: -len(".meta.json")]).read_bytes()
        assert meta["bytes"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert side.parent.name == meta["source_id"]
    sheppard = json.loads((downloads / "gutenberg_format_variants/pg16215__16215-8.txt.meta.json").read_text())
    assert (sheppard["year"], sheppard["url"]) == (1839, "https://www.gutenberg.org/ebooks/16215")
    inquest = json.loads(next(downloads.glob("london_lives_coroners_inquests/*.meta.json")).read_text())
    assert inquest["date"] == "1760-02-18" and "John Ryal" in inquest["title"]


def _mixed_downloads(root: Path, shared_corpus: Path) -> Path:
    """Two sources whose files each add a different contamination category, filter or error: the
    statistics' counts are keyed in the order results arrive unless the build fixes it."""
    from cleaning.test_cleaning_units import LATIN
    oa = shared_corpus / "old-bailey-ordinarys-accounts-txt/oa_txt"
    raw = (shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Collins_Basil.txt").read_text(encoding="utf-8")
    tei = (shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17280117.xml").read_bytes()
    files = {"local": {"url.txt": (oa / "OA17410318.txt").read_bytes() + b"\nSee https://www.oldbaileyonline.org/\n",
                       "email.txt": (oa / "OA17480622.txt").read_bytes() + b"\nWrite to editor@example.org\n",
                       "copy.txt": (oa / "OA17480622.txt").read_bytes(),
                       "licence.txt": raw[raw.index("*** END OF THIS PROJECT GUTENBERG EBOOK"):].encode(),
                       "short.txt": b"Guilty. Death."},
             "other": {"latin.txt": LATIN.encode(), "short.txt": b"Acquitted."}}
    for sid, named in files.items():
        for name, data in named.items():
            (root / sid).mkdir(parents=True, exist_ok=True)
            (root / sid / name).write_bytes(data)
            write_sidecar(root / sid / name, source_id=sid, kind="ordinary", fmt="plain_txt", year=1748)
    for cut in (3000, 6000):  # two unreadable files: two errors
        (root / "other" / f"cut{cut}.xml").write_bytes(tei[:cut])
        write_sidecar(root / "other" / f"cut{cut}.xml", source_id="other", kind="trial", fmt="oldbailey_tei",
                      year=1728)
    return root


def _statistics_text(metadata_dir: Path) -> str:
    """statistics.json as written, less what differs between runs by nature: when and how fast, how many workers."""
    stats = json.loads((metadata_dir / "statistics.json").read_text(encoding="utf-8"))
    del stats["created"]
    for key in ("seconds", "phase_seconds", "workers"):
        del stats["totals"][key]
    return json.dumps(stats, indent=2, ensure_ascii=False)  # key order kept as written


def test_statistics_do_not_depend_on_the_order_results_arrive(tmp_path, shared_corpus, monkeypatch):
    """The workers finish in any order: the same results in the opposite order give the same statistics.json."""
    from london_llm.cleaning import build
    downloads = _mixed_downloads(tmp_path / "downloads", shared_corpus)
    build_corpus(downloads, tmp_path / "p1", tmp_path / "c1.txt", tmp_path / "m1", workers=1, progress=False)
    run_in_order = build._run
    monkeypatch.setattr(build, "_run", lambda *a, **k: reversed(list(run_in_order(*a, **k))))
    stats = build_corpus(downloads, tmp_path / "p2", tmp_path / "c2.txt", tmp_path / "m2", workers=1,
                         progress=False)
    assert set(stats["sources"]["local"]["contamination_chars_removed"]) >= {"url", "email", "licence"}
    assert {"not_english", "too_short", "unreadable"} <= set(stats["totals"]["removed"])
    assert len(stats["errors"]) == 2
    assert _statistics_text(tmp_path / "m2") == _statistics_text(tmp_path / "m1")
    assert (tmp_path / "p2/documents.jsonl").read_bytes() == (tmp_path / "p1/documents.jsonl").read_bytes()


def test_statistics_are_the_same_with_one_worker_and_two(tmp_path, shared_corpus):
    downloads = _mixed_downloads(tmp_path / "downloads", shared_corpus)
    for workers in (1, 2):
        build_corpus(downloads, tmp_path / f"p{workers}", tmp_path / f"c{workers}.txt", tmp_path / f"m{workers}",
                     workers=workers, progress=False)
    assert _statistics_text(tmp_path / "m2") == _statistics_text(tmp_path / "m1")
    assert (tmp_path / "p2/documents.jsonl").read_bytes() == (tmp_path / "p1/documents.jsonl").read_bytes()
