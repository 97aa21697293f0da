"""Stage 02 downloading over real HTTP: the collector against tests/mirror_server.py on 127.0.0.1,
serving ../shared/corpus in the real URL layouts, with and without injected faults."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from london_llm.collect.collector import CollectOptions, collect, sidecar_path
from london_llm.collect.fetch import partial_path
from london_llm.collect.http import HttpSettings
from london_llm.collect.registry import parse_source
from mirror_server import FaultPlan, MirrorServer

FAST = HttpSettings(timeout=2.0, max_retries=3, backoff=0.01, rate_limit=0.0)


def src(**entry):
    entry.setdefault("title", entry["id"])
    entry.setdefault("licence", "public domain")
    entry.setdefault("date_range", [1500, 1913])
    return parse_source(entry, "test")


def gutenberg(n, year=1800):
    return src(id=f"gutenberg_{n}", kind="gutenberg", ebook=n, year=year, doc_kind="book", format="gutenberg_txt")


def run(server, sources, downloads, settings=FAST, workers=2):
    return collect(sources, CollectOptions(downloads_dir=downloads, mirrors=server.mirrors(), settings=settings,
                                           workers=workers, progress=False))


def completed(downloads: Path) -> dict[str, bytes]:
    return {str(p.relative_to(downloads)): p.read_bytes() for p in sorted(downloads.rglob("*"))
            if p.is_file() and not p.name.endswith(".meta.json") and not p.name.startswith(".")}


def test_gutenberg_variants_fall_back_in_order(shared_corpus, tmp_path):
    """cache/epub (DigHums) -> files/N-0 (rcdm-uga) -> files/N-8 (Jack Sheppard has no -0)."""
    with MirrorServer(shared_corpus) as server:
        summary = run(server, [gutenberg(6053), gutenberg(376), gutenberg(16215)], tmp_path)
    assert summary.counts()["downloaded"] == 3, summary.report()
    urls = {p.parent.name: json.loads(p.read_text())["url"] for p in tmp_path.rglob("*.meta.json")}
    assert urls["gutenberg_6053"].endswith("/cache/epub/6053/pg6053.txt")
    assert urls["gutenberg_376"].endswith("/files/376/376-0.txt")
    assert urls["gutenberg_16215"].endswith("/files/16215/16215-8.txt")
    real = shared_corpus / "gutenberg-gitenberg-format-variants/pg16215/16215-8.txt"
    assert (tmp_path / "gutenberg_16215" / "pg16215.txt").read_bytes() == real.read_bytes()
    ua = {r["ua"] for r in server.requests}
    assert len(ua) == 1 and "LondonHistoricalLLM-collector" in ua.pop()


def test_sidecar_is_complete_and_written_last(shared_corpus, tmp_path):
    sources = [src(id="ia_items", kind="internet_archive", identifiers=["philtrans01419782"], doc_kind="ocr",
                   format="ia_djvu_txt")]
    with MirrorServer(shared_corpus) as server:
        summary = run(server, sources, tmp_path)
    assert summary.counts()["downloaded"] == 1, summary.report()
    data = tmp_path / "ia_items" / "philtrans01419782_djvu.txt"
    meta = json.loads(sidecar_path(data).read_text())
    for key in ("format_version", "source_id", "kind", "format", "title", "author", "date", "year", "licence",
                "url", "bytes", "md5", "sha256", "retrieved"):
        assert key in meta, key
    body = data.read_bytes()
    assert meta["md5"] == hashlib.md5(body).hexdigest() and meta["bytes"] == len(body)
    assert meta["url"].endswith("/ia/download/philtrans01419782/01419782_djvu.txt")
    assert meta["year"] == 1852 and meta["kind"] == "ocr" and meta["identifier"] == "philtrans01419782"
    assert meta["possible_copyright_status"] == "NOT_IN_COPYRIGHT"
    assert sidecar_path(data).stat().st_mtime_ns >= data.stat().st_mtime_ns


def test_rerun_fetches_only_what_is_missing(shared_corpus, tmp_path):
    sources = [gutenberg(6053), src(id="obo", kind="old_bailey", series="sessionsPapers",
                                    ids=["16740429", "17800112"], doc_kind="trial", format="oldbailey_tei")]
    with MirrorServer(shared_corpus) as server:
        assert run(server, sources, tmp_path).counts()["downloaded"] == 3
        (tmp_path / "obo" / "17800112.xml.meta.json").unlink()  # as if the run died before the sidecar
        before = len(server.requests)
        again = run(server, sources, tmp_path)
        fetched = [r["path"] for r in server.requests[before:]]
    assert again.counts() == {"downloaded": 1, "present": 2, "skipped": 0, "failed": 0}
    assert fetched == ["/obo/sessionsPapers/17800112.xml"]


def test_interrupted_download_resumes_with_range(shared_corpus, tmp_path):
    """A body cut short never becomes a complete file; the next run asks only for the rest."""
    sources = [src(id="obo", kind="old_bailey", series="sessionsPapers", ids=["17800112"], doc_kind="trial",
                   format="oldbailey_tei")]
    always_cut = FaultPlan(sequence=("truncate",) * 10)
    with MirrorServer(shared_corpus, always_cut) as server:
        first = run(server, sources, tmp_path, HttpSettings(timeout=2, max_retries=1, backoff=0.01, rate_limit=0))
    final = tmp_path / "obo" / "17800112.xml"
    assert first.counts()["failed"] == 1 and "gave up" in first.failed[0].reason
    assert not final.exists() and not sidecar_path(final).exists()
    part = partial_path(final, server.mirrors()["old_bailey"] + "/sessionsPapers/17800112.xml")
    assert part.name.startswith(".") and part.stat().st_size > 0
    with MirrorServer(shared_corpus) as server2:
        move_partial(final, server.mirrors()["old_bailey"], server2.mirrors()["old_bailey"], "/sessionsPapers/17800112.xml")
        second = run(server2, sources, tmp_path)
        asked = server2.requests
    assert second.counts()["downloaded"] == 1, second.report()
    assert asked[0]["range"] and asked[0]["range"].startswith("bytes=") and asked[0]["range"] != "bytes=0-"
    real = (shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17800112.xml").read_bytes()
    assert final.read_bytes() == real
    assert not list(final.parent.glob(".*"))


def move_partial(final: Path, old_base: str, new_base: str, rel: str) -> None:
    """Hand a partial file (and its validator) from one mirror's URL to another's: ports differ per server."""
    old, new = partial_path(final, old_base + rel), partial_path(final, new_base + rel)
    old.rename(new)
    if old.with_name(old.name + ".validator").exists():
        old.with_name(old.name + ".validator").rename(new.with_name(new.name + ".validator"))


def test_a_file_changed_between_attempts_is_fetched_whole_not_spliced(shared_corpus, tmp_path):
    """The partial file's ETag goes back as If-Range; the server answers a changed file with 200."""
    rel = "/cache/epub/6053/pg6053.txt"
    old = (shared_corpus / "gutenberg-18c-novels-dighums/texts/FrancesBurney__Evelina.txt").read_bytes()
    new = old.replace(b"Evelina", b"EVELINA")
    quick = HttpSettings(timeout=2, max_retries=1, backoff=0.01, rate_limit=0)
    with MirrorServer(shared_corpus, FaultPlan(sequence=("truncate",) * 5), extra={"/gutenberg" + rel: old}) as one:
        assert run(one, [gutenberg(6053)], tmp_path, quick).counts()["failed"] == 1
    final = tmp_path / "gutenberg_6053" / "pg6053.txt"
    with MirrorServer(shared_corpus, extra={"/gutenberg" + rel: new}) as two:
        move_partial(final, one.mirrors()["gutenberg"], two.mirrors()["gutenberg"], rel)
        assert run(two, [gutenberg(6053)], tmp_path).counts()["downloaded"] == 1
        asked = two.requests[0]
    assert asked["range"] and asked["if_range"]  # it asked to resume, if unchanged ...
    assert final.read_bytes() == new  # ... and got, and kept, the whole new file: no splice
    assert sorted(p.name for p in final.parent.iterdir()) == ["pg6053.txt", "pg6053.txt.meta.json"]


def test_server_without_range_support_restarts_cleanly(shared_corpus, tmp_path):
    sources = [gutenberg(6053)]
    with MirrorServer(shared_corpus, FaultPlan(sequence=("truncate",)), support_range=False) as server:
        summary = run(server, sources, tmp_path)
    assert summary.counts()["downloaded"] == 1, summary.report()
    real = shared_corpus / "gutenberg-18c-novels-dighums/texts/FrancesBurney__Evelina.txt"
    assert (tmp_path / "gutenberg_6053" / "pg6053.txt").read_bytes() == real.read_bytes()


def test_retry_after_is_honoured(shared_corpus, tmp_path):
    with MirrorServer(shared_corpus, FaultPlan(sequence=("429",), retry_after=1)) as server:
        started = time.monotonic()
        summary = run(server, [gutenberg(6053)], tmp_path, HttpSettings(timeout=2, max_retries=2, backoff=0.0,
                                                                        rate_limit=0))
        waited = time.monotonic() - started
    assert summary.counts()["downloaded"] == 1, summary.report()
    assert waited >= 1.0
    assert [r["fault"] for r in server.requests] == ["429", None]


def test_md5_mismatch_is_not_accepted(shared_corpus, tmp_path):
    with MirrorServer(shared_corpus) as server:
        meta = server.catalogue.ia_metadata("philtrans07681315")
        for f in meta["files"]:
            if f.get("md5"):
                f["md5"] = "0" * 32
        server.extra["/ia/metadata/philtrans07681315"] = json.dumps(meta).encode()
        summary = run(server, [src(id="ia", kind="internet_archive", identifiers=["philtrans07681315"],
                                   doc_kind="ocr", format="ia_djvu_txt")], tmp_path)
    assert summary.counts()["failed"] == 1 and "md5" in summary.failed[0].reason
    assert completed(tmp_path) == {} and not list(tmp_path.rglob("*.meta.json"))


def test_licence_refused_text_is_skipped_and_says_so(shared_corpus, tmp_path):
    world_library = (b"The Tragedy of Hamlet\r\n<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM "
                     b"SHAKESPEARE IS COPYRIGHT 1990-1993 BY WORLD LIBRARY, INC., AND IS PROVIDED BY PROJECT "
                     b"GUTENBERG ETEXT ... PERSONAL USE ONLY>>\r\n\r\nACT I. SCENE I. Elsinore.\r\n" * 20)
    with MirrorServer(shared_corpus, extra={"/gutenberg/cache/epub/1524/pg1524.txt": world_library}) as server:
        first = run(server, [gutenberg(1524, 1603), gutenberg(6053)], tmp_path)
        before = len(server.requests)
        second = run(server, [gutenberg(1524, 1603), gutenberg(6053)], tmp_path)
        after = server.requests[before:]
    assert first.counts() == {"downloaded": 1, "present": 0, "skipped": 1, "failed": 0}
    assert "WORLD LIBRARY, INC." in first.skipped[0].reason and "personal use only" in first.skipped[0].reason
    assert "skipped gutenberg_1524/pg1524.txt" in first.report()
    assert not (tmp_path / "gutenberg_1524" / "pg1524.txt").exists()
    assert second.counts()["skipped"] == 1 and after == []  # the refusal is remembered


def test_one_failure_never_stops_the_run(shared_corpus, tmp_path):
    sources = [src(id="obo", kind="old_bailey", series="sessionsPapers", ids=["16740429", "99999999", "17800112"],
                   doc_kind="trial", format="oldbailey_tei"),
               src(id="ia", kind="internet_archive", identifiers=["no_such_item"], doc_kind="ocr",
                   format="ia_djvu_txt"),
               gutenberg(6053)]
    with MirrorServer(shared_corpus) as server:
        summary = run(server, sources, tmp_path)
    assert summary.counts() == {"downloaded": 3, "present": 0, "skipped": 0, "failed": 2}, summary.report()
    report = summary.report()
    assert "FAILED  obo/99999999.xml: not found: HTTP 404" in report
    assert "FAILED  ia/no_such_item_djvu.txt: Internet Archive has no item 'no_such_item'" in report


def test_searches_expand_into_items(shared_corpus, tmp_path):
    sources = [src(id="ia_search", kind="internet_archive_search", query="subject:(london)", rows=1, max_items=5,
                   doc_kind="ocr", format="ia_djvu_txt"),
               src(id="ob_api", kind="old_bailey", series="api", max_items=12, doc_kind="trial",
                   format="oldbailey_api_json", api_search={"offence": "housebreaking", "year_gte": 1700,
                                                            "year_lte": 1704})]
    with MirrorServer(shared_corpus) as server:
        summary = run(server, sources, tmp_path)
        searches = [r for r in server.requests if "advancedsearch" in r["path"] or r["path"].endswith("record")]
    names = {o.key for o in summary.outcomes}
    assert {"ia_search/philtrans01419782_djvu.txt", "ia_search/philtrans07681315_djvu.txt"} <= names
    assert len([n for n in names if n.startswith("ob_api/")]) == 12  # two pages of the real search answer
    assert "ob_api/t17000115-17.json" in names
    assert (tmp_path / "ob_api" / "t17000115-17.json").read_bytes() == \
        (shared_corpus / "old-bailey-api-json-samples/t17000115-17.json").read_bytes()
    assert len(searches) == 4  # IA pages 1 and 2 (rows=1), API from=0 and from=10


def test_hostile_remote_names_stay_inside_the_folder(shared_corpus, tmp_path):
    downloads = tmp_path / "downloads"
    with MirrorServer(shared_corpus, extra={"/raw/x/y/z/../../escape.txt": b"Hello London text\n" * 10}) as server:
        sources = [src(id="odd", kind="url", urls=[server.url + "/raw/x/y/z/..%2F..%2Fescape.txt"],
                       doc_kind="other", format="plain_txt")]
        summary = run(server, sources, downloads)
    assert summary.counts()["downloaded"] == 1, summary.report()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(downloads / "odd" in p.parents for p in files)
    assert {p.name for p in files} == {"escape.txt", "escape.txt.meta.json"}


def test_oversized_answers_are_refused(shared_corpus, tmp_path):
    with MirrorServer(shared_corpus) as server:
        summary = collect([gutenberg(6053)], CollectOptions(downloads_dir=tmp_path, mirrors=server.mirrors(),
                                                            settings=FAST, progress=False, max_bytes=10_000))
    assert summary.counts()["failed"] == 1 and "10,000-byte limit" in summary.failed[0].reason
    assert completed(tmp_path) == {}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_faults_give_byte_identical_downloads_and_never_a_partial_file(shared_corpus, tmp_path):
    """Every path meets 500, 429, reset, truncation, an HTML page with 200, a stall, slowness (and a cut XML
    file) before the real answer: the downloads are byte-identical to a fault-free run's."""
    sources = [gutenberg(6053), gutenberg(376), gutenberg(16215),
               src(id="obo", kind="old_bailey", series="sessionsPapers", ids=["16740429", "17800112"],
                   doc_kind="trial", format="oldbailey_tei"),
               src(id="oa", kind="old_bailey", series="ordinarys_text", ids=["OA17400213"], doc_kind="ordinary",
                   format="ordinary_txt"),
               src(id="ia", kind="internet_archive", identifiers=["philtrans01419782"], doc_kind="ocr",
                   format="ia_djvu_txt")]
    settings = HttpSettings(timeout=0.5, max_retries=9, backoff=0.01, rate_limit=0)
    with MirrorServer(shared_corpus) as clean_server:
        clean = run(clean_server, sources, tmp_path / "clean", settings, workers=4)
    with MirrorServer(shared_corpus, FaultPlan(retry_after=1, stall_seconds=1.0)) as faulty_server:
        faulty = run(faulty_server, sources, tmp_path / "faulty", settings, workers=4)
        faults = {r["fault"] for r in faulty_server.requests}
    assert clean.counts()["downloaded"] == faulty.counts()["downloaded"] == 7, faulty.report()
    assert faults >= {"500", "429", "reset", "truncate", "html200", "stall", "slow", "truncated_xml"}
    a, b = completed(tmp_path / "clean"), completed(tmp_path / "faulty")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    for data in (tmp_path / "faulty").rglob("*"):
        if data.is_file() and not data.name.endswith(".meta.json"):
            assert not data.name.startswith("."), f"partial file left behind: {data}"
            assert sidecar_path(data).exists()
            assert json.loads(sidecar_path(data).read_text())["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()


def test_local_sources_are_copied_and_checked(shared_corpus, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    real = shared_corpus / "old-bailey-ordinarys-accounts-txt/oa_txt/OA17400213.txt"
    (folder / "account.txt").write_bytes(real.read_bytes())
    (folder / "broken.txt").write_bytes(b"<!DOCTYPE html><html><head><title>404</title></head><body></body></html>")
    (folder / "empty.txt").write_bytes(b"")
    sources = [src(id="mine", kind="local", path=str(folder), pattern="*.txt", doc_kind="other", format="plain_txt")]
    summary = collect(sources, CollectOptions(downloads_dir=tmp_path / "downloads", mirrors={}, settings=FAST,
                                              progress=False))
    assert summary.counts() == {"downloaded": 1, "present": 0, "skipped": 0, "failed": 2}, summary.report()
    assert {o.key for o in summary.failed} == {"mine/broken.txt", "mine/empty.txt"}
    meta = json.loads((tmp_path / "downloads/mine/account.txt.meta.json").read_text())
    assert meta["origin"] == str(folder / "account.txt") and meta["url"] is None
    assert (tmp_path / "downloads/mine/account.txt").read_bytes() == real.read_bytes()
    assert sorted(p.name for p in (tmp_path / "downloads/mine").iterdir()) == ["account.txt", "account.txt.meta.json"]


def test_an_item_without_ocr_text_is_skipped_for_good(shared_corpus, tmp_path):
    sources = [src(id="ia", kind="internet_archive", identifiers=["philtrans07681315"], doc_kind="ocr",
                   format="ia_djvu_txt")]
    with MirrorServer(shared_corpus) as server:
        meta = server.catalogue.ia_metadata("philtrans07681315")
        meta["files"] = [f for f in meta["files"] if f["format"] != "DjVuTXT"]  # a scan without OCR
        server.extra["/ia/metadata/philtrans07681315"] = json.dumps(meta).encode()
        first = run(server, sources, tmp_path)
        before = len(server.requests)
        second = run(server, sources, tmp_path)
        assert server.requests[before:] == []
    assert first.counts()["skipped"] == 1 and "no DjVuTXT" in first.skipped[0].reason
    assert second.counts()["skipped"] == 1 and completed(tmp_path) == {}


@pytest.mark.parametrize("fault, reason", [("500", "HTTP 500"), ("429", "HTTP 429"), ("reset", "after 2 retries")])
def test_a_server_that_keeps_failing_is_asked_a_bounded_number_of_times(shared_corpus, tmp_path, fault, reason):
    """urllib3 retries with backoff; the file-level loop does not retry those again (no squared retries)."""
    settings = HttpSettings(timeout=2, max_retries=2, backoff=0.01, rate_limit=0, retry_after_max=0)
    with MirrorServer(shared_corpus, FaultPlan(sequence=(fault,) * 50, retry_after=0)) as server:
        summary = run(server, [src(id="obo", kind="old_bailey", series="sessionsPapers", ids=["17800112"],
                                   doc_kind="trial", format="oldbailey_tei")], tmp_path, settings)
    assert summary.counts()["failed"] == 1 and reason in summary.failed[0].reason, summary.report()
    assert len(server.requests) == 3  # the first try and max_retries=2 retries
    assert not list(tmp_path.rglob("*.xml*"))


def test_an_unreachable_host_fails_fast_with_one_clear_reason(tmp_path):
    """Nothing listens on the mirror's port: after three items cannot connect, the rest fail at once."""
    import socket
    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirrors = {"gutenberg": f"http://127.0.0.1:{port}/gutenberg"}
    sources = [gutenberg(n) for n in (376, 370, 730, 1023, 963, 883, 821, 1400)]
    started = time.monotonic()
    summary = collect(sources, CollectOptions(downloads_dir=tmp_path, mirrors=mirrors, workers=1, progress=False,
                                              settings=HttpSettings(timeout=1, max_retries=2, backoff=0.05,
                                                                    rate_limit=0)))
    assert time.monotonic() - started < 10
    reasons = [o.reason for o in summary.failed]
    assert len(reasons) == 8
    assert sum(r.startswith("unreachable:") for r in reasons) == 3
    assert sum(f"host 127.0.0.1:{port} unreachable" in r and "rerun" in r for r in reasons) == 5
    assert f"could not connect to 127.0.0.1:{port}: offline? --from-dir DIR" in summary.report()
