"""--from-dir with a bulk deposit zip the user downloaded: the zip (built here from real shared
sessions and Ordinary's Accounts) is imported as the online bulk route's own item, cleaned member by
member straight out of it, giving the online route's documents; a repeat of the same XML beside it is
caught by the same dedupe; a corrupt zip and a zip of other things are one clear error each."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mirror_server import FIGSHARE_ARTICLE, MirrorServer

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "02_data_collection" / "data_sources.json"
SCRIPT = REPO / "02_data_collection" / "historical_data_collector.py"
DROP = {"retrieved", "url", "origin", "figshare_article", "figshare_file"}  # where it came from, not what it is


def obo_zip(corpus: Path, sessions: int = 2, accounts: int = 2) -> tuple[bytes, list[Path]]:
    """The deposit's layout: OBO_XML_7-2/sessionsPapers/*.xml, ordinarysAccounts/*.xml, a readme."""
    obo = corpus / "old-bailey-obo-xml-7.2"
    files = (sorted((obo / "sessionsPapers").glob("*.xml"))[:sessions]
             + sorted((obo / "ordinarysAccounts").glob("*.xml"))[:accounts])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OBO_XML_7-2/readme.txt", "Old Bailey Online XML, release 7.2\n")
        for f in files:
            archive.write(f, f"OBO_XML_7-2/{f.parent.name}/{f.name}")
    return buf.getvalue(), files


def build(downloads: Path, out: Path) -> list[dict]:
    from london_llm.cleaning.build import build_corpus
    build_corpus(downloads, out / "processed", out / "corpus.txt", out / "metadata", workers=1, progress=False)
    lines = (out / "processed" / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def essence(docs: list[dict]) -> list[tuple]:
    return sorted((d["text"], d["year"], d["kind"], d["title"], d["licence"]) for d in docs)


@pytest.fixture(scope="module")
def deposit(tmp_path_factory):
    from conftest import require_shared_corpus
    corpus = require_shared_corpus()
    data, files = obo_zip(corpus)
    return {"corpus": corpus, "zip": data, "files": files, "root": tmp_path_factory.mktemp("deposit")}


def test_a_deposit_zip_imports_as_the_online_bulk_route_downloads_it(deposit):
    from london_llm.cleaning.importer import import_from_dir
    from london_llm.collect.collector import CollectOptions, collect
    from london_llm.collect.http import HttpSettings
    from london_llm.collect.registry import load_registry
    root, registry = deposit["root"], load_registry(REGISTRY)
    user = root / "user" / "Downloads from ORDA"
    user.mkdir(parents=True)
    (user / "OBO_XML_7-2 (1).zip").write_bytes(deposit["zip"])  # renamed as a browser does
    counts = import_from_dir(user.parent, root / "offline", registry=registry)
    assert counts["imported"] == 1 and counts["sources"] == {"old_bailey_obo_bulk": 1}, counts
    folder = root / "offline" / "old_bailey_obo_bulk"
    assert sorted(p.name for p in folder.iterdir()) == ["OBO_XML_7-2_1_.zip", "OBO_XML_7-2_1_.zip.meta.json"]
    assert import_from_dir(user.parent, root / "offline", registry=registry)["skipped"] == 1  # a rerun

    source = next(s for s in registry if s.id == "old_bailey_obo_bulk")
    with MirrorServer(deposit["corpus"], archives={"OBO_XML_7-2.zip": deposit["zip"]}, article=FIGSHARE_ARTICLE) as server:
        summary = collect([source], CollectOptions(downloads_dir=root / "online", mirrors=server.mirrors(),
                                                   settings=HttpSettings(rate_limit=0, backoff=0.01, timeout=5),
                                                   workers=1, progress=False))
    assert summary.counts()["downloaded"] == 1, summary.report()
    offline_meta = json.loads((folder / "OBO_XML_7-2_1_.zip.meta.json").read_text())
    online_meta = json.loads((root / "online/old_bailey_obo_bulk/OBO_XML_7-2.zip.meta.json").read_text())
    assert {k: v for k, v in offline_meta.items() if k not in DROP} == \
        {k: v for k, v in online_meta.items() if k not in DROP}  # the same item: archive, members, format ...
    assert offline_meta["archive"] == "zip" and offline_meta["origin"].endswith("OBO_XML_7-2 (1).zip")

    offline, online = build(root / "offline", root / "out_offline"), build(root / "online", root / "out_online")
    assert len(offline) > 20 and essence(offline) == essence(online)
    assert {d["kind"] for d in offline} == {"trial", "ordinary"}
    members = {f"OBO_XML_7-2/{f.parent.name}/{f.name}" for f in deposit["files"]}
    assert {d["origin"].split("!/", 1)[1].split("#")[0] for d in offline} == members  # not the readme
    assert not list((root / "out_offline").rglob("*.xml"))  # never unpacked


def test_the_same_xml_beside_the_zip_is_caught_by_the_dedupe(deposit):
    """A user's folder holding both the zip and the same sessions unpacked (the shared layout): the
    build keeps each document once, the marked-up copy, as it does for two downloads."""
    from london_llm.cleaning.importer import import_from_dir
    from london_llm.collect.registry import load_registry
    root = deposit["root"] / "both"
    (root / "in" / "old-bailey-obo-xml-7.2").mkdir(parents=True)
    (root / "in" / "deposit.zip").write_bytes(deposit["zip"])
    for f in deposit["files"]:
        dest = root / "in" / "old-bailey-obo-xml-7.2" / f.parent.name / f.name
        dest.parent.mkdir(exist_ok=True)
        os.symlink(f, dest)  # the real file, not a copy
    counts = import_from_dir(root / "in", root / "downloads", registry=load_registry(REGISTRY))
    assert counts["sources"]["old_bailey_obo_bulk"] == 1 and counts["sources"]["old_bailey_sessions"] == 2
    docs = build(root / "downloads", root / "out")
    only_zip = deposit["root"] / "out_offline" / "processed" / "documents.jsonl"
    assert only_zip.is_file(), "run with the test above"
    single = [json.loads(line) for line in only_zip.read_text(encoding="utf-8").splitlines()]
    assert sorted(d["text"] for d in docs) == sorted(d["text"] for d in single)
    stats = json.loads((root / "out" / "metadata" / "statistics.json").read_text())
    removed = stats["totals"]["removed"]
    assert removed["exact_duplicate"]["documents"] + removed.get("near_duplicate", {}).get("documents", 0) \
        == len(docs)  # every repeat seen and dropped


@pytest.mark.parametrize("case", ["truncated", "not_a_zip", "other_members"])
def test_a_bad_zip_is_one_clear_error_and_nothing_is_imported(deposit, tmp_path, case):
    from london_llm.cleaning.importer import import_from_dir
    from london_llm.collect.registry import load_registry
    user = tmp_path / "user"
    user.mkdir()
    if case == "truncated":
        (user / "OBO_XML_7-2.zip").write_bytes(deposit["zip"][: len(deposit["zip"]) // 2])
        expected = "not a readable zip archive"
    elif case == "not_a_zip":
        (user / "OBO_XML_7-2.zip").write_bytes(b"<html><body>Sign in to download</body></html>")
        expected = "not a readable zip archive"
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("photos/IMG_0001.jpg", b"\xff\xd8\xff")
            archive.writestr("notes.md", "holiday")
        (user / "OBO_XML_7-2.zip").write_bytes(buf.getvalue())
        expected = "no registered bulk deposit has members like these"
    with pytest.raises(ValueError, match=expected) as info:
        import_from_dir(user, tmp_path / "downloads", registry=load_registry(REGISTRY))
    assert str(user / "OBO_XML_7-2.zip") in str(info.value)
    assert not (tmp_path / "downloads").exists() or not list((tmp_path / "downloads").rglob("*.meta.json"))


def test_the_script_imports_a_deposit_and_refuses_a_corrupt_one_in_one_line(deposit, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_MIRROR")}
    user = tmp_path / "user"
    user.mkdir()
    (user / "deposit.zip").write_bytes(deposit["zip"][:-200])  # the end of the central directory cut off
    run = lambda home: subprocess.run(  # noqa: E731
        [sys.executable, str(SCRIPT), "--home", str(home), "--from-dir", str(user), "--no-progress",
         "--clean-workers", "1"], capture_output=True, text=True, env=env, timeout=300)
    bad = run(tmp_path / "bad")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "deposit.zip" in bad.stderr and "Traceback" not in bad.stderr
    (user / "deposit.zip").write_bytes(deposit["zip"])
    good = run(tmp_path / "good")
    assert good.returncode == 0, good.stderr[-2000:]
    assert "old_bailey_obo_bulk" in good.stdout
    docs = (tmp_path / "good/data/london_historical/processed/documents.jsonl").read_text().splitlines()
    assert len(docs) > 20
