"""Stage 02 downloading, unit level: registry, names, text checks, rate limit, retry settings."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from london_llm.collect.http import HostRateLimiter, HttpSettings, make_retry
from london_llm.collect.names import safe_filename
from london_llm.collect.registry import (FORMATS, MIRRORS, RegistryError, load_registry, parse_source,
                                         resolve_mirrors, select_sources)
from london_llm.collect.textcheck import LicenceRefused, NotText, check_body

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "02_data_collection" / "data_sources.json"


def _entry(**over):
    base = {"id": "g1", "kind": "gutenberg", "ebook": 376, "title": "t", "date_range": [1722, 1722],
            "licence": "pd", "doc_kind": "book", "format": "gutenberg_txt"}
    base.update(over)
    return base


# --- the shipped registry --------------------------------------------------------------------

def test_shipped_registry_loads_and_meets_the_brief():
    sources = load_registry(REGISTRY)
    kinds = {s.kind for s in sources if s.enabled}
    assert {"gutenberg", "gutenberg_catalogue", "bulk_archive", "london_lives", "internet_archive",
            "internet_archive_search"} <= kinds
    # the whole Old Bailey: both series of the bulk deposit, 1674-1913, and the API alternative
    bulk = [s for s in sources if s.enabled and s.kind == "bulk_archive" and s.collection == "old_bailey"]
    assert len(bulk) == 1 and bulk[0].date_range == (1674, 1913)
    assert {"*sessionsPapers/*.xml", "*ordinarysAccounts/*.xml"} <= set(bulk[0].spec["members"])
    api = [s for s in sources if s.kind == "old_bailey" and s.spec["series"] == "api" and s.date_range == (1674, 1913)]
    assert api and api[0].spec["max_items"] >= 197_745
    books = [s for s in sources if s.kind == "gutenberg" and s.enabled]
    assert len(books) >= 60
    assert all(s.date_range[0] >= 1500 and s.date_range[1] <= 1913 for s in sources if s.enabled)
    assert all(s.format in FORMATS for s in sources)


def test_gutenberg_numbers_are_verified_against_the_staged_manifests(shared_corpus):
    """Every ebook number in the registry is one a real staged file's header carries."""
    known = set()
    for manifest in shared_corpus.glob("gutenberg-*/manifest.json"):
        known |= {int(f["pg_ebook_no"]) for f in json.loads(manifest.read_text())["files"]}
    known |= {int(d.name[2:]) for d in (shared_corpus / "gutenberg-gitenberg-format-variants").glob("pg*")}
    numbers = [s.spec["ebook"] for s in load_registry(REGISTRY) if s.kind == "gutenberg"]
    assert len(numbers) == len(set(numbers))
    assert set(numbers) <= known, sorted(set(numbers) - known)


def test_registry_ids_match_real_files(shared_corpus):
    by_id = {s.id: s for s in load_registry(REGISTRY)}
    sessions = {p.stem for p in (shared_corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml")}
    assert set(by_id["old_bailey_sessions"].spec["ids"]) == sessions
    inquests = {p.name for p in (shared_corpus / "london-lives-westminster-coroners-inquests" / "coroners_inquests"
                                 / "wa_inq_txt").glob("*.txt")}
    assert set(by_id["london_lives_coroners_inquests"].spec["files"]) == inquests


def test_every_entry_points_at_a_text_endpoint():
    """No home pages, search pages or HTML wrappers (archive.org/stream, gutenberg.org/ebooks/N)."""
    raw = json.loads(REGISTRY.read_text())
    text = json.dumps(raw)
    for bad in ("/stream/", "/details/", "/ebooks/", "browse.jsp", ".html\"", ".pdf\""):
        assert bad not in text, bad
    for s in load_registry(REGISTRY):
        if s.kind == "url":
            assert all(p.endswith((".xml", ".xhtml", ".txt", ".tsv")) for p in s.spec.get("paths") or s.spec["urls"])


# --- validation messages -----------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"kind": "ftp"}, "kind 'ftp' is not one of"),
    ({"ebook": -3}, "ebook must be a positive"),
    ({"format": "pdf"}, "format 'pdf' is not one of"),
    ({"doc_kind": "novel"}, "doc_kind 'novel'"),
    ({"date_range": [1900, 1800]}, "date_range must be"),
    ({"id": "../etc"}, "id '../etc' must be"),
    ({"colour": "red"}, "unknown key(s) for kind gutenberg: colour"),
])
def test_bad_entries_are_named(change, message):
    with pytest.raises(RegistryError) as err:
        parse_source(_entry(**change), "sources[0]")
    assert message in str(err.value) and "sources[0]" in str(err.value)


def test_relative_paths_may_not_escape():
    entry = _entry(kind="london_lives", files=["../../etc/passwd"], format="londonlives_txt", doc_kind="parish")
    del entry["ebook"]
    with pytest.raises(RegistryError, match="without '..'"):
        parse_source(entry, "x")


def test_registry_file_problems(tmp_path):
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("<html>oops</html>")
    with pytest.raises(RegistryError, match="not valid UTF-8 JSON"):
        load_registry(bad)
    bad.write_text(json.dumps({"format_version": 1, "sources": [_entry(), _entry()]}))
    with pytest.raises(RegistryError, match="appears twice"):
        load_registry(bad)


def test_select_by_id_kind_and_disabled():
    a = parse_source(_entry(id="a"), "a")
    b = parse_source(_entry(id="b", enabled=False), "b")
    assert select_sources([a, b]) == [a]
    assert select_sources([a, b], ["b"]) == [b]  # named: runs although disabled
    assert select_sources([a, b], ["gutenberg"]) == [a]
    with pytest.raises(RegistryError, match="unknown source"):
        select_sources([a, b], ["nope"])


def test_mirrors_flag_beats_environment_beats_default():
    env = {MIRRORS["gutenberg"].env: "http://env.example/pg/"}
    got = resolve_mirrors({"gutenberg": None}, env)
    assert got["gutenberg"] == "http://env.example/pg"
    assert resolve_mirrors({"gutenberg": "http://flag.example"}, env)["gutenberg"] == "http://flag.example"
    assert resolve_mirrors({}, {})["internet_archive"] == "https://archive.org"
    with pytest.raises(RegistryError, match="--gutenberg-mirror"):
        resolve_mirrors({"gutenberg": "ftp://x"}, {})


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["../../etc/passwd", "/abs/path.txt", "a\\b\x00c.txt", ".hidden", "CON.txt",
                                 "dir/../../x", "  ", "ſome ﬁle—name.txt"])
def test_safe_filename_cannot_escape_or_hide(raw):
    name = safe_filename(raw)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert ".." not in name
    assert name.split(".")[0].lower() != "con"


def test_long_names_stay_distinct_and_short():
    a, b = safe_filename("x" * 300 + "a.txt"), safe_filename("x" * 300 + "b.txt")
    assert a != b and len(a) <= 120 and a.endswith(".txt")


# --- text checks --------------------------------------------------------------------------------

def test_real_files_pass(shared_corpus):
    check_body((shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17800112.xml").read_bytes(), "oldbailey_tei")
    check_body((shared_corpus / "eebo-tcp-london-samples/A81426.xml").read_bytes(), "eebo_tei")
    check_body((shared_corpus / "standardebooks-pepys-diary/src/epub/text/chapter-1.xhtml").read_bytes(),
               "standardebooks_xhtml")
    check_body((shared_corpus / "gutenberg-gitenberg-format-variants/pg16215/16215-8.txt").read_bytes(),
               "gutenberg_txt")
    check_body((shared_corpus / "old-bailey-api-json-samples/t17000115-17.json").read_bytes(), "oldbailey_api_json")


def test_truncated_xml_is_rejected(shared_corpus):
    data = (shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17800112.xml").read_bytes()
    with pytest.raises(NotText, match="truncated or malformed XML"):
        check_body(data[: len(data) // 2], "oldbailey_tei")


def test_truncated_json_is_rejected(shared_corpus):
    data = (shared_corpus / "old-bailey-api-json-samples/t17000115-17.json").read_bytes()
    with pytest.raises(NotText, match="not complete JSON"):
        check_body(data[:-40], "oldbailey_api_json")


@pytest.mark.parametrize("fmt", ["gutenberg_txt", "oldbailey_tei", "ia_djvu_txt", "standardebooks_xhtml"])
def test_html_error_page_with_200_is_rejected(fmt):
    page = b"<!DOCTYPE html>\n<html><head><title>Too Many Requests</title></head><body>slow down</body></html>"
    with pytest.raises(NotText):
        check_body(page, fmt)


@pytest.mark.parametrize("body, message", [(b"", "empty"), (b"  \r\n ", "empty"), (b"%PDF-1.4 ...", "PDF"),
                                           (b"PK\x03\x04zip", "zip"), (b"text\x00\x00bin", "NUL")])
def test_empty_and_binary_bodies_are_rejected(body, message):
    with pytest.raises(NotText, match=message):
        check_body(body, "gutenberg_txt")


def test_world_library_shakespeare_is_refused():
    head = (b"<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM SHAKESPEARE IS COPYRIGHT 1990-1993 BY "
            b"WORLD LIBRARY, INC., AND IS PROVIDED BY PROJECT GUTENBERG ETEXT OF ILLINOIS BENEDICTINE COLLEGE WITH "
            b"PERMISSION.  ... (1) ARE FOR YOUR OR OTHERS PERSONAL USE ONLY>>\n\nThe Tragedy of Hamlet\n")
    with pytest.raises(LicenceRefused, match="WORLD LIBRARY, INC."):
        check_body(head, "gutenberg_txt")


# --- politeness -----------------------------------------------------------------------------------

def test_rate_limiter_spaces_requests_per_host():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = HostRateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    assert limiter.wait("http://a.example/1") == 0
    assert limiter.wait("http://a.example/2") == pytest.approx(2.0)
    assert limiter.wait("http://b.example/1") == 0  # another host is not held up
    assert limiter.wait("http://A.EXAMPLE/3") == pytest.approx(2.0)
    assert slept == [pytest.approx(2.0), pytest.approx(2.0)]


def test_retry_policy_covers_5xx_429_and_connection_errors():
    settings = HttpSettings(max_retries=4, backoff=0.5, retry_after_max=30)
    retry = make_retry(settings)
    assert {429, 500, 502, 503, 504} <= set(retry.status_forcelist)
    assert retry.respect_retry_after_header and retry.retry_after_max == 30
    assert retry.connect == retry.read == retry.status == 4
    assert [settings.backoff_delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert "LondonHistoricalLLM" in settings.user_agent


# --- routes, the urls/paths rule, the deposit's file names -----------------------------------------

def _bulk(**over):
    entry = {"id": "dep", "kind": "bulk_archive", "title": "t", "date_range": [1674, 1913], "licence": "x",
             "doc_kind": "trial", "format": "oldbailey_tei"}
    entry.update(over)
    return entry


def test_every_shipped_source_says_its_route():
    from london_llm.collect.registry import load_registry
    routes = {s.id: s.route for s in load_registry(REGISTRY)}
    assert routes["old_bailey_obo_bulk"] == "bulk" and routes["old_bailey_api_all"] == "api"
    assert routes["london_lives_xml_bulk"] == "from-dir" and routes["london_lives_pages_api"] == "api"
    assert routes["london_lives_coroners_inquests"] == "files"


@pytest.mark.parametrize("kind", ["url", "bulk_archive"])
def test_urls_and_paths_follow_one_rule_for_both_kinds(kind):
    """One check serves both kinds (they name remote files the same two ways)."""
    make = _bulk if kind == "bulk_archive" else (lambda **o: _bulk(kind="url", **o))
    with pytest.raises(RegistryError, match="urls must be http"):
        parse_source(make(urls=["ftp://x/y.zip"]), "s")
    with pytest.raises(RegistryError, match="paths need a base"):
        parse_source(make(paths=["a/b.zip"], base="nowhere"), "s")
    assert parse_source(make(base="github", paths=["a/b.zip"]), "s").spec["paths"] == ["a/b.zip"]


def test_a_deposit_without_an_address_is_imported_not_fetched():
    from london_llm.collect.api import PlanError
    from london_llm.collect.plan import plan_source
    source = parse_source(_bulk(files=["OBO_XML*.zip"]), "s")
    assert source.route == "from-dir" and "--from-dir" in source.summary()
    with pytest.raises(PlanError, match="--from-dir FOLDER"):
        plan_source(source, mirrors={}, settings=None, session=None)
    with pytest.raises(RegistryError, match="give exactly one of"):
        parse_source(_bulk(), "s")


def test_deposit_file_names_flag_beats_environment_beats_registry():
    from london_llm.collect.registry import DEPOSIT_FILES_ENV, override_deposit_files
    sources = [parse_source(_bulk(figshare_article=4775434, files=["*.zip"]), "s"),
               parse_source(_bulk(id="gh", base="github", paths=["a/b.zip"]), "s"), parse_source(_entry(), "s")]
    files = lambda got: [s.spec.get("files") for s in got]  # noqa: E731
    assert files(override_deposit_files(sources, None, {})) == [["*.zip"], None, None]
    env = {DEPOSIT_FILES_ENV: "OBO_XML_7-2.zip, OBO_OA.zip"}
    assert files(override_deposit_files(sources, None, env)) == [["OBO_XML_7-2.zip", "OBO_OA.zip"], None, None]
    assert files(override_deposit_files(sources, ["sessions*.zip"], env)) == [["sessions*.zip"], None, None]
