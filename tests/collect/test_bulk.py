"""Whole collections: the Old Bailey's bulk XML deposit (a zip the test builds from the shared
sessions, listed by the mirror's Figshare API, downloaded with resume, cleaned member by member
straight out of the zip), a London Lives dataset as one repository archive with its catalogue,
and Project Gutenberg chosen by catalogue query (subject, author, years) and by list."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mirror_server import FIGSHARE_ARTICLE, FaultPlan, MirrorServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "02_data_collection" / "historical_data_collector.py"
FAST = ["--rate-limit", "0", "--backoff", "0.01", "--timeout", "2", "--max-retries", "6", "--workers", "2",
        "--no-progress"]
LL_COMMIT = "47dd9e6ba5737627b7a5b77a549476fc85f95479"
ZIP_NAME = "OBO_XML_7-2.zip"


def _run(args, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_MIRROR")}
    return subprocess.run([sys.executable, str(SCRIPT), "--home", str(home), *FAST, *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _registry(path: Path, sources: list[dict]) -> Path:
    common = {"licence": "CC BY-NC 4.0", "enabled": True}
    path.write_text(json.dumps({"format_version": 1, "sources": [{**common, **s} for s in sources]}))
    return path


def _docs(home: Path) -> list[dict]:
    lines = (home / "data/london_historical/processed/documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _obo_zip(corpus: Path, sessions: int) -> tuple[bytes, list[str]]:
    """A deposit-style zip: OBO_XML_7-2/sessionsPapers/*.xml, ordinarysAccounts/*.xml and a readme."""
    obo = corpus / "old-bailey-obo-xml-7.2"
    files = sorted((obo / "sessionsPapers").glob("*.xml"))[:sessions] + sorted((obo / "ordinarysAccounts").glob("*.xml"))
    buf = io.BytesIO()
    members = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OBO_XML_7-2/readme.txt", "Old Bailey Online XML, release 7.2\n")
        for f in files:
            member = f"OBO_XML_7-2/{f.parent.name}/{f.name}"
            archive.write(f, member)
            members.append(member)
    return buf.getvalue(), members


OBO_SOURCE = {"id": "old_bailey_obo_bulk", "kind": "bulk_archive", "title": "Old Bailey Proceedings (OBO_XML_7-2)",
              "figshare_article": FIGSHARE_ARTICLE, "files": ["*.zip"],
              "members": ["*/sessionsPapers/*.xml", "*/ordinarysAccounts/*.xml"],
              "date_range": [1674, 1913], "doc_kind": "trial", "format": "oldbailey_tei"}


@pytest.fixture(scope="module")
def bulk_run(tmp_path_factory):
    """The bulk zip collected through the real script while the mirror cuts the body twice (it resumes
    with Range), and the same sessions as single files for comparison."""
    from conftest import require_shared_corpus
    corpus = require_shared_corpus()
    root = tmp_path_factory.mktemp("bulk")
    data, members = _obo_zip(corpus, sessions=8)
    faults = FaultPlan(sequence=("truncate", "reset", "truncate"), only=__import__("re").compile(r"\.zip$"))
    with MirrorServer(corpus, faults=faults, archives={ZIP_NAME: data}) as server:
        proc = _run(["--registry", str(_registry(root / "bulk.json", [OBO_SOURCE])), *server.mirror_flags()],
                    root / "bulk")
        requests = list(server.requests)
        single = {"id": "old_bailey_obo_bulk", "kind": "old_bailey", "series": "sessionsPapers",
                  "ids": [Path(m).stem for m in members if "/sessionsPapers/" in m], "title": "Old Bailey",
                  "date_range": [1674, 1913], "doc_kind": "trial", "format": "oldbailey_tei"}
        accounts = {**single, "id": "old_bailey_obo_bulk_oa", "series": "ordinarysAccounts",
                    "ids": [Path(m).stem for m in members if "/ordinarysAccounts/" in m], "doc_kind": "ordinary"}
        reference = _run(["--registry", str(_registry(root / "single.json", [single, accounts])),
                          *server.mirror_flags()], root / "single")
    return {"proc": proc, "reference": reference, "home": root / "bulk", "ref_home": root / "single",
            "zip": data, "members": members, "requests": requests}


def test_the_bulk_deposit_downloads_resumably_and_is_verified(bulk_run):
    proc = bulk_run["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = bulk_run["home"] / "data/london_historical/downloads/old_bailey_obo_bulk"
    assert (folder / ZIP_NAME).read_bytes() == bulk_run["zip"]  # the md5 and size the API published
    meta = json.loads((folder / f"{ZIP_NAME}.meta.json").read_text())
    assert meta["archive"] == "zip" and meta["format"] == "oldbailey_tei" and meta["figshare_article"] == FIGSHARE_ARTICLE
    zip_requests = [r for r in bulk_run["requests"] if r["path"].endswith(".zip")]
    assert [r["fault"] for r in zip_requests[:3]] == ["truncate", "reset", "truncate"]
    assert any(r["range"] for r in zip_requests), "the cut download was not resumed with Range"
    api = [r for r in bulk_run["requests"] if "/articles/" in r["path"]]
    assert api and "page_size=" in api[0]["query"]
    # streamed out of the zip, never unpacked: the downloads folder holds the zip and its sidecar only
    assert sorted(p.name for p in folder.iterdir()) == [ZIP_NAME, f"{ZIP_NAME}.meta.json"]
    assert not list((bulk_run["home"] / "data").rglob("*.xml"))


def test_every_member_is_cleaned_as_its_own_file_would_be(bulk_run):
    """Read in place, the members yield exactly the documents the same XML files give one by one."""
    assert bulk_run["reference"].returncode == 0, bulk_run["reference"].stderr[-3000:]
    bulk, single = _docs(bulk_run["home"]), _docs(bulk_run["ref_home"])
    assert len(bulk) > 100
    assert sorted(d["text"] for d in bulk) == sorted(d["text"] for d in single)
    assert {d["kind"] for d in bulk} == {"trial", "ordinary"}
    sessions = {m.rsplit("/", 1)[1] for m in bulk_run["members"]}
    cleaned = {d["origin"].split("!/", 1)[1].split("#")[0].rsplit("/", 1)[1] for d in bulk}
    assert cleaned == sessions  # every member, and not the readme
    by_text = {d["text"]: d for d in single}
    assert all(d["year"] == by_text[d["text"]]["year"] for d in bulk)
    stats = json.loads((bulk_run["home"] / "data/london_historical/metadata/statistics.json").read_text())
    assert stats["sources"]["old_bailey_obo_bulk"]["files"] == len(bulk_run["members"])


def test_a_truncated_archive_is_refused_and_retried(shared_corpus, tmp_path):
    from london_llm.collect.textcheck import NotText, check_archive
    data, _ = _obo_zip(shared_corpus, sessions=2)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotText, match="not a complete zip"):
        check_archive(cut, "oldbailey_tei", ["*.xml"])
    whole = tmp_path / "whole.zip"
    whole.write_bytes(data)
    assert check_archive(whole, "oldbailey_tei", ["*/sessionsPapers/*.xml"]) == 2
    with pytest.raises(NotText, match="no member"):
        check_archive(whole, "oldbailey_tei", ["*/nothing/*.xml"])


def test_london_lives_in_bulk_with_its_catalogue(shared_corpus, tmp_path):
    """The inquests as one repository archive: every text cleaned in place, each dated and titled by
    the catalogue inside the archive (no request per file)."""
    folder = shared_corpus / "london-lives-westminster-coroners-inquests" / "coroners_inquests"
    texts = sorted((folder / "wa_inq_txt").glob("*.txt"))[:40]
    catalogue = folder / "wa_coroners_inquests_v1-1.tsv"
    buf = io.BytesIO()
    prefix = f"ll-coroners-{LL_COMMIT}/coroners_inquests"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(catalogue, f"{prefix}/{catalogue.name}")
        for f in texts:
            archive.write(f, f"{prefix}/wa_inq_txt/{f.name}")
    path = f"sharonhoward/ll-coroners/archive/{LL_COMMIT}.zip"
    source = {"id": "london_lives_inquests_bulk", "kind": "bulk_archive", "title": "Coroners' inquests",
              "base": "github", "paths": [path], "members": ["*/wa_inq_txt/*.txt"],
              "catalogue": "*/wa_coroners_inquests_v1-1.tsv", "catalogue_key": "inquisition_img",
              "catalogue_date": "doc_date", "catalogue_title": "Coroner's inquisition: {the_deceased}, {parish}",
              "date_range": [1760, 1799], "doc_kind": "parish", "format": "londonlives_txt"}
    with MirrorServer(shared_corpus, extra={f"/github/{path}": buf.getvalue()}) as server:
        proc = _run(["--registry", str(_registry(tmp_path / "ll.json", [source])), *server.mirror_flags()], tmp_path)
        fetched = [r for r in server.requests if r["found"]]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(fetched) == 1  # one archive, not 40 files
    docs = _docs(tmp_path)
    assert len(docs) >= 30
    assert all(d["title"].startswith("Coroner's inquisition: ") and 1760 <= d["year"] <= 1799 for d in docs), docs[0]


def test_gutenberg_by_catalogue_query_and_by_list(shared_corpus, tmp_path):
    """pg_catalog.csv (built by the mirror from the staged books' RDF records and headers) chooses
    books by subject, by author's years and by a list; each is fetched and cleaned."""
    sources = [
        {"id": "pg_18th_century_subjects", "kind": "gutenberg_catalogue", "title": "Gutenberg: 18th century",
         "subjects": ["18th century"], "date_range": [1700, 1799], "doc_kind": "book", "format": "gutenberg_txt"},
        {"id": "pg_authors_1700_1750", "kind": "gutenberg_catalogue", "title": "Gutenberg: authors of 1700-1750",
         "author_years": [1700, 1750], "date_range": [1700, 1750], "doc_kind": "book", "format": "gutenberg_txt"},
        {"id": "pg_defoe", "kind": "gutenberg_catalogue", "title": "Gutenberg: Defoe", "authors": ["Defoe"],
         "max_items": 2, "date_range": [1690, 1731], "doc_kind": "book", "format": "gutenberg_txt"},
        {"id": "pg_list", "kind": "gutenberg_catalogue", "title": "Gutenberg: a list", "ebooks": [16215],
         "date_range": [1839, 1839], "doc_kind": "book", "format": "gutenberg_txt"},
    ]
    with MirrorServer(shared_corpus) as server:
        proc = _run(["--registry", str(_registry(tmp_path / "pg.json", sources)), "--download-only",
                     *server.mirror_flags()], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    downloads = tmp_path / "data/london_historical/downloads"
    got = {d.name: sorted(p.name for p in d.glob("*.txt")) for d in downloads.iterdir()}
    assert got["pg_18th_century_subjects"] == ["pg20535.txt"]  # "English poetry -- 18th century"
    assert got["pg_authors_1700_1750"] == ["pg25063.txt"]  # John Gay, 1685-1732
    assert len(got["pg_defoe"]) == 2
    assert got["pg_list"] == ["pg16215.txt"]
    meta = json.loads((downloads / "pg_authors_1700_1750/pg25063.txt.meta.json").read_text())
    assert (meta["author"], meta["author_birth"], meta["author_death"], meta["ebook"]) == ("Gay, John", 1685, 1732, 25063)
    assert "Beggar" in meta["title"]
    defoe = json.loads(next((downloads / "pg_defoe").glob("*.meta.json")).read_text())
    assert "Defoe" in defoe["author"]


def test_catalogue_selection_rules():
    from london_llm.collect.plan import author_dates, select_from_catalogue
    assert author_dates("Defoe, Daniel, 1661?-1731") == ("Defoe, Daniel", 1661, 1731)
    assert author_dates("Hurlothrumbo") == ("Hurlothrumbo", None, None)
    assert author_dates("Smith, John, -1650") == ("Smith, John", None, 1650)
    rows = [{"Text#": "1", "Type": "Text", "Language": "en", "Authors": "A, B, 1600-1660", "Subjects": "London"},
            {"Text#": "2", "Type": "Sound", "Language": "en", "Authors": "A, B, 1600-1660", "Subjects": "London"},
            {"Text#": "3", "Type": "Text", "Language": "fr", "Authors": "A, B, 1600-1660", "Subjects": "London"},
            {"Text#": "4", "Type": "Text", "Language": "en", "Authors": "C, D, 1850-1920", "Subjects": "London"}]
    assert [r["Text#"] for r in select_from_catalogue(rows, {"subjects": ["london"]})] == ["1", "4"]
    assert [r["Text#"] for r in select_from_catalogue(rows, {"author_years": [1500, 1700]})] == ["1"]
    assert [r["Text#"] for r in select_from_catalogue(rows, {"subjects": ["london"], "exclude": [1]})] == ["4"]


def test_the_old_bailey_by_api_paging_one_year_at_a_time(shared_corpus, tmp_path):
    """The registry's alternative to the deposit: the API searched year by year (its Elasticsearch
    index refuses to page past a result window, here 20 hits), then every record fetched whole."""
    import re

    import requests
    source = {"id": "old_bailey_api_years", "kind": "old_bailey", "series": "api",
              "api_search": {"year_gte": 1674, "year_lte": 1682}, "max_items": 300000, "title": "Old Bailey (API)",
              "date_range": [1674, 1682], "doc_kind": "trial", "format": "oldbailey_api_json"}
    sessions = [f for f in sorted((shared_corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml"))
                if 1674 <= int(f.name[:4]) <= 1682]
    trials = {i.decode() for f in sessions for i in re.findall(rb'<div1 type="trialAccount" id="([^"]+)"',
                                                                f.read_bytes())}
    assert len(trials) > 20
    with MirrorServer(shared_corpus, api_window=20) as server:
        whole = requests.get(f"{server.url}/dhi/oldbailey_record", timeout=10,
                             params={"year_gte": 1674, "year_lte": 1682, "from": 20})
        assert whole.status_code == 400  # one query over all the years cannot be paged to the end
        proc = _run(["--registry", str(_registry(tmp_path / "api.json", [source])), *server.mirror_flags()], tmp_path)
        searches = [r["query"] for r in server.requests if r["path"].endswith("/oldbailey_record")][1:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(searches) >= 9 and all(re.search(r"year_gte=(\d+)&year_lte=\1\b", q) for q in searches)
    folder = tmp_path / "data/london_historical/downloads/old_bailey_api_years"
    got = {p.stem for p in folder.glob("t*.json") if not p.name.endswith(".meta.json")}
    assert got == trials
    docs = _docs(tmp_path)
    assert len(docs) > 20 and all(1674 <= d["year"] <= 1682 and d["kind"] == "trial" for d in docs)


def test_the_deposit_file_names_are_a_setting(shared_corpus, tmp_path):
    """The registry's Figshare file names were never checked against the live deposit: when they match
    nothing, the error lists what the deposit holds and names the setting; --deposit-files (or
    $LONDON_LLM_DEPOSIT_FILES) then fetches the right file without editing the registry."""
    data, _ = _obo_zip(shared_corpus, sessions=1)
    registry = _registry(tmp_path / "r.json", [{**OBO_SOURCE, "files": ["OBO_XML_7-1*.zip"]}])
    with MirrorServer(shared_corpus, archives={"OBO_XML_7-2_sessions.zip": data}) as server:
        wrong = _run(["--registry", str(registry), "--download-only", "--strict", *server.mirror_flags()],
                     tmp_path / "wrong")
        right = _run(["--registry", str(registry), "--download-only", "--deposit-files", "OBO_XML_7-2*.zip",
                      *server.mirror_flags()], tmp_path / "right")
    assert wrong.returncode == 1 and "OBO_XML_7-2_sessions.zip" in wrong.stdout + wrong.stderr
    assert "--deposit-files" in wrong.stdout + wrong.stderr
    assert right.returncode == 0, right.stderr[-2000:]
    got = tmp_path / "right/data/london_historical/downloads/old_bailey_obo_bulk/OBO_XML_7-2_sessions.zip"
    assert got.read_bytes() == data
