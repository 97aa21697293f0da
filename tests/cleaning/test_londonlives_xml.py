"""London Lives page XML (FORMATS.md 5): the documented excerpt parsed as written; page files the
test builds in the documented layout from real rekeyed inquest texts of ../shared/corpus, read in
bulk out of a zip imported with --from-dir (one document a page, dated by the record, its ids in the
title) and by the site's XML view served by tests/mirror_server.py (the API route)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from mirror_server import MirrorServer

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "02_data_collection" / "data_sources.json"

# FORMATS.md 5, the real excerpt of SM_PS/LMSMPS50744.xml (its two paragraphs, closed).
EXCERPT = b"""<div1 type="SM_PSpage" id="LMSMPS50744PS507440059"> <xptr type="pageFacsimile" doc="LMSMPS507440059"></xptr>
<p n="808">To His Majesty's Justices assigned to deliver the goal of <rs type="placeName" id="LMSMPS50744_geo850">Newgate</rs>
<interp inst="LMSMPS50744_geo850" type="placeName" value="Newgate"></interp>
<interp inst="LMSMPS50744_geo850" type="type" value="undefined"></interp>
of the Prisoners therein being at their General Session of goal<lb></lb>
Delivery of <rs type="placeName" id="LMSMPS50744_geo851">Newgate</rs>
<del>at <rs type="placeName" id="LMSMPS50744_geo853">Justice Hall</rs></del></p>
<p n="809">The Representation of His Majesty's<lb></lb>
Justices assigned to keep the peace in the <rs type="placeName" id="LMSMPS50744_geo856">County<lb></lb>of Middlesex</rs></p>
</div1>"""


def test_the_documented_page_reads_as_written():
    from london_llm.cleaning.londonlives_xml import parse
    (doc,) = parse(EXCERPT, {})
    assert doc.text.split("\n") == [
        "To His Majesty's Justices assigned to deliver the goal of Newgate of the Prisoners therein being at "
        "their General Session of goal Delivery of Newgate",  # <del> dropped with its text, goal as written
        "The Representation of His Majesty's Justices assigned to keep the peace in the County of Middlesex"]
    assert doc.part == "LMSMPS50744PS507440059" and doc.title == "London Lives SM_PS, page LMSMPS50744PS507440059"
    assert doc.series == "sessions papers"  # SM_PS: Middlesex Sessions, sessions Papers
    assert "Newgate Newgate" not in doc.text and "undefined" not in doc.text  # interp markup is not text


def test_a_year_in_words_ends_at_its_full_stop():
    """Cleaned text has no space before the stop ("Sixty." not "Sixty ."): the year is still 1760."""
    from london_llm.cleaning.dating import record_year
    assert record_year("and in the Year of our Lord One Thousand Seven hundred and Sixty. Before John") == 1760
    assert record_year("in the Year of our Lord One Thousand Seven hundred and Sixty . Before") == 1760


def page_xml(doc_id: str, series: str, pages: list[tuple[str, str]], date: str | None = None) -> bytes:
    """A document file in the bulk layout: one <div1 type="SERIESpage"> a page, a <p> a line, a
    struck-through word and place markup as London Lives writes them."""
    body = []
    for image, text in pages:
        lines = [escape(line) for line in text.split("\n") if line.strip()]
        first = lines[0].split(" ", 2)
        lines[0] = (f'{first[0]} <rs type="placeName" id="{image}_geo1">{first[1] if len(first) > 1 else ""}</rs>'
                    f'<interp inst="{image}_geo1" type="placeName" value="X"></interp> <del>struck</del>'
                    + (f" {first[2]}" if len(first) > 2 else ""))
        paras = "\n".join(f'<p n="{i}">{line}</p>' for i, line in enumerate(lines))
        body.append(f'<div1 type="{series}page" id="{image}"><xptr type="pageFacsimile" doc="{image}"></xptr>'
                    f'{paras}</div1>')
    interp = f'<interp type="date" value="{date}"/>' if date else ""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<div0 id="{doc_id}">{interp}{"".join(body)}</div0>'.encode()


@pytest.fixture(scope="module")
def inquests():
    """Real inquest texts (rekeyed from London Lives' XML) with their catalogue dates."""
    import csv
    from conftest import require_shared_corpus
    folder = require_shared_corpus() / "london-lives-westminster-coroners-inquests" / "coroners_inquests"
    rows = {r["inquisition_img"]: r for r in csv.DictReader(
        (folder / "wa_coroners_inquests_v1-1.tsv").open(encoding="utf-8"), delimiter="\t")}
    texts = []
    for path in sorted((folder / "wa_inq_txt").glob("*.txt"))[:12]:
        image = path.stem.split("_")[0]
        if image in rows:
            texts.append((image, path.read_text(encoding="utf-8"), rows[image]["doc_date"]))
    return texts


def test_pages_of_a_real_record_keep_its_text(inquests):
    from london_llm.cleaning.londonlives_xml import parse
    image, text, date = inquests[0]
    docs = parse(page_xml("WACWIC65200", "WA_IC", [(image, text)], date), {"archive_member": "WA_IC/WACWIC65200.xml"})
    assert len(docs) == 1
    expected = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    assert [" ".join(x.split()) for x in docs[0].text.split("\n")][1:] == expected[1:]
    assert "struck" not in docs[0].text
    assert docs[0].year == int(date[:4]) and docs[0].date == date and docs[0].part == image
    assert docs[0].title == f"London Lives WA_IC WACWIC65200, page {image}"


@pytest.mark.parametrize("doc_id, div_type, page_id, expect", [
    ("GLBAEP10300", "BA_EPpage", "GLBAEP103000015", "pauper examinations"),  # St Botolph Aldgate
    ("WCCDEP30500", "CD_EPpage", "WCCDEP305000001", "pauper examinations"),  # St Clement Danes
    ("WCCDRV36900", None, "WCCDRV369000052", "removal orders"),  # no div1 type: the ids say it
    ("XXCWIC00001", "CW_ICpage", "XXCWIC000010001", "coroners' inquests"),  # an archive the docs do not name
    ("LMSMZZ00001", "SM_ZZpage", "LMSMZZ000010001", "SM_ZZ"),  # an undocumented type: its code, not a guess
    (None, None, "p1", None),  # nothing names a series
])
def test_every_page_keeps_its_record_series(doc_id, div_type, page_id, expect):
    """The series from the collection's id scheme (archive + series + number; the series' last two
    letters its record type), for any page of the collection, not a list of particular documents."""
    from london_llm.cleaning.londonlives_xml import parse
    xml = page_xml(doc_id or "", div_type[:-4] if div_type else "", [(page_id, "Middlesex to wit The Examination of")])
    if div_type is None:
        xml = xml.replace(b' type="page"', b"")
    if doc_id is None:
        xml = xml.replace(b'<div0 id="">', b"<div0>")
    (doc,) = parse(xml, {})
    assert doc.series == expect


def ll_zip(inquests) -> bytes:
    """The bulk layout: SERIES/DOCID.xml, several pages each; the first document carries no date
    markup, so its pages are dated by what the record says ("in the Year of our Lord One Thousand ...")."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("LL_XML/README.txt", "London Lives XML\n")
        half = len(inquests) // 2
        for n, chunk in enumerate((inquests[:half], inquests[half:])):
            pages = [(image, text) for image, text, _ in chunk]
            date = None if n == 0 else chunk[0][2]
            archive.writestr(f"LL_XML/WA_IC/WACWIC6520{n}.xml", page_xml(f"WACWIC6520{n}", "WA_IC", pages, date))
    return buf.getvalue()


def _documents(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "processed/documents.jsonl").read_text(encoding="utf-8").splitlines()]


def test_london_lives_in_bulk_from_a_downloaded_zip(inquests, tmp_path):
    from london_llm.cleaning.build import build_corpus
    from london_llm.cleaning.importer import import_from_dir
    from london_llm.collect.registry import load_registry
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "LondonLives_XML.zip").write_bytes(ll_zip(inquests))
    counts = import_from_dir(tmp_path / "user", tmp_path / "downloads", registry=load_registry(REGISTRY))
    assert counts["sources"] == {"london_lives_xml_bulk": 1}, counts  # not the Old Bailey's deposit
    build_corpus(tmp_path / "downloads", tmp_path / "processed", tmp_path / "corpus.txt", tmp_path / "metadata",
                 workers=1, progress=False)
    docs = _documents(tmp_path)
    assert sorted(d["origin"].rsplit("#", 1)[1] for d in docs) == sorted(image for image, _, _ in inquests)
    assert {d["source"] for d in docs} == {"london_lives"} and {d["kind"] for d in docs} == {"parish"}
    assert all(d["title"].startswith("London Lives WA_IC WACWIC6520") for d in docs)
    assert {d["series"] for d in docs} == {"coroners' inquests"}  # one kind, the record type in `series`
    assert all(d["licence"].startswith("London Lives 1690-1800") for d in docs)
    dates = {image: date for image, _, date in inquests}
    for d in docs:  # dated by the record: its markup, else its own words; the catalogue agrees
        assert d["year"] == int(dates[d["origin"].rsplit("#", 1)[1]][:4]), (d["title"], d["year"])
    assert not list(tmp_path.rglob("*.xml"))  # read in place


def test_london_lives_pages_by_the_site_xml_view(inquests, tmp_path, shared_corpus):
    """The API route: one request a page id to browse.jsp?div=ID&xml=yes; an unknown id fails alone."""
    from london_llm.cleaning.build import build_corpus
    from london_llm.collect.collector import CollectOptions, collect
    from london_llm.collect.http import HttpSettings
    from london_llm.collect.registry import parse_source
    pages = {image: page_xml(image[:11], "WA_IC", [(image, text)], date)
             for image, text, date in inquests[:3]}
    source = parse_source({"id": "ll_pages", "kind": "london_lives", "pages": [*pages, "WACWIC999999999"],
                           "title": "London Lives pages", "date_range": [1690, 1800], "licence": "CC BY-SA 4.0",
                           "doc_kind": "parish", "format": "londonlives_xml"}, "test")
    assert source.route == "api"
    with MirrorServer(shared_corpus, ll_pages=pages) as server:
        summary = collect([source], CollectOptions(downloads_dir=tmp_path / "downloads", mirrors=server.mirrors(),
                                                   settings=HttpSettings(rate_limit=0, backoff=0.01, timeout=5,
                                                                         max_retries=1),
                                                   workers=1, progress=False))
        asked = [r for r in server.requests if r["path"] == "/lls/browse.jsp"]
    assert summary.counts()["downloaded"] == 3 and [o.key for o in summary.failed] == ["ll_pages/WACWIC999999999.xml"]
    assert all("xml=yes" in r["query"] for r in asked)
    build_corpus(tmp_path / "downloads", tmp_path / "processed", tmp_path / "corpus.txt", tmp_path / "metadata",
                 workers=1, progress=False)
    docs = _documents(tmp_path)
    assert sorted(d["origin"].rsplit("#", 1)[1] for d in docs) == sorted(pages)
    assert all(1760 <= d["year"] <= 1799 for d in docs)
