"""Each source format's parser on real files from ../shared/corpus (and variants built from them)."""
from __future__ import annotations

import json
import re

import pytest

from london_llm.cleaning import (contamination, eebo_tei, gutenberg_txt, ia_djvu_txt, londonlives,
                                 oldbailey_api_json, oldbailey_tei, ordinary_txt, plain_txt,
                                 standardebooks_xhtml)
from london_llm.cleaning.document import ParseError
from london_llm.cleaning.normalise import apply_long_s

GUTENBERG_DIRS = ("gutenberg-london-books-rcdm-uga/texts", "gutenberg-18c-novels-dighums/texts")


def _one(docs):
    assert len(docs) == 1
    return docs[0]


def test_every_gutenberg_file_loses_header_footer_and_licence(shared_corpus):
    files = [f for d in GUTENBERG_DIRS for f in sorted((shared_corpus / d).glob("*.txt"))]
    files += sorted((shared_corpus / "gutenberg-gitenberg-format-variants").glob("pg*/*.txt"))
    assert len(files) >= 65
    for path in files:
        doc = _one(gutenberg_txt.parse(path.read_bytes(), {}))
        cleaned, _ = contamination.strip(doc.text)
        assert len(cleaned) > 5_000, path.name
        for marker in ("*** START OF", "*** END OF", "***START", "SMALL PRINT", "Project Gutenberg"):
            assert marker.lower() not in doc.text.lower() or marker == "Project Gutenberg", (path.name, marker)
        assert "project gutenberg" not in cleaned.lower(), path.name
        assert not re.search(r"^\*{3}.*PROJECT GUTENBERG", doc.text, re.M | re.I), path.name


def test_in_text_end_line_does_not_cut_the_book(shared_corpus):
    raw = (shared_corpus / "gutenberg-gitenberg-format-variants/pg16215/16215.txt").read_bytes()
    doc = _one(gutenberg_txt.parse(raw, {}))
    assert "END OF THE FIRST EPOCH." in doc.text
    after = doc.text.split("END OF THE FIRST EPOCH.", 1)[1]
    assert len(after) > 500_000  # two more epochs follow
    assert doc.text.rstrip().endswith("THE END.")
    assert doc.title == "Jack Sheppard" and doc.author == "William Harrison Ainsworth"
    assert "Produced by" not in doc.text and "underscore" not in doc.text


def test_small_print_header_and_missing_end_marker(shared_corpus):
    raw = (shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Shakespeare__Richard_III.txt").read_bytes()
    doc = _one(gutenberg_txt.parse(raw, {}))
    assert "SMALL PRINT" not in doc.text and "Etext" not in doc.text
    assert "Now is the Winter of our Discontent" in doc.text
    assert "Scanner" not in doc.text and "Executive Director" not in doc.text
    assert "Earle\nRichmond, and the Battell at Bosworth Field." in doc.text  # kept to the last line
    evelina = (shared_corpus / "gutenberg-18c-novels-dighums/texts/FrancesBurney__Evelina.txt").read_bytes()
    assert _one(gutenberg_txt.parse(evelina, {})).text.rstrip().endswith("pass at that")  # truncated file, no END


def test_world_library_files_are_rejected(shared_corpus):
    body = (shared_corpus / "gutenberg-london-books-rcdm-uga/texts/Shakespeare__Henry_V.txt").read_bytes()
    header = (b"<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM SHAKESPEARE IS COPYRIGHT "
              b"1990-1993 BY WORLD LIBRARY, INC., AND IS PROVIDED BY PROJECT GUTENBERG ETEXT OF "
              b"ILLINOIS BENEDICTINE COLLEGE WITH PERMISSION.>>\r\n")
    doc = _one(gutenberg_txt.parse(header + body, {}))
    assert doc.rejected == "licence_restricted"


def test_html_error_page_is_not_a_book():
    with pytest.raises(ParseError, match="HTML"):
        gutenberg_txt.parse(b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>", {})


def test_old_bailey_session_trials_running_text(shared_corpus):
    raw = (shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/17280117.xml").read_bytes()
    assert b"[Transportation. See summary.]" in raw
    docs = oldbailey_tei.parse(raw, {})
    assert len(docs) == raw.count(b'type="trialAccount"')
    for doc in docs:
        assert doc.kind == "trial" and doc.date == "1728-01-17" and doc.year == 1728
        assert "See summary" not in doc.text
        assert not re.search(r"\w ,", doc.text)  # no space left before commas by tag boundaries
        assert "  " not in doc.text
    assert "George Sanders and John Simpson, of St. Mary Aldermanbury, were indicted" in docs[0].text
    later = oldbailey_tei.parse((shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers/18360104.xml").read_bytes(), {})
    assert {d.date for d in later} == {"1836-01-04"}  # t-prefixed session id


def test_ordinarys_account_xml_latin1_and_truncation(shared_corpus):
    raw = (shared_corpus / "old-bailey-obo-xml-7.2/ordinarysAccounts/OA17500207.xml").read_bytes()
    assert b'encoding="ISO-8859-1"' in raw[:100]
    doc = _one(oldbailey_tei.parse(raw, {}))
    assert doc.kind == "ordinary" and doc.year == 1750
    assert doc.text.startswith("THE ORDINARY of NEWGATE'S ACCOUNT")
    assert "\ufffd" not in doc.text
    with pytest.raises(ParseError, match="truncated"):
        oldbailey_tei.parse(raw[: len(raw) // 2], {})


def test_ordinary_txt_date_from_name(shared_corpus):
    path = shared_corpus / "old-bailey-ordinarys-accounts-txt/oa_txt/OA17480622.txt"
    doc = _one(ordinary_txt.parse(path.read_bytes(), {"origin": str(path)}))
    assert doc.date == "1748-06-22" and doc.year == 1748 and doc.kind == "ordinary"
    assert "Sir Robert Ladbroke, Knt." in doc.text


def test_old_bailey_api_single_record_and_search_snippets(shared_corpus):
    folder = shared_corpus / "old-bailey-api-json-samples"
    doc = _one(oldbailey_api_json.parse((folder / "t17000115-17.json").read_bytes(), {}))
    assert doc.kind == "trial" and doc.year == 1700 and doc.rejected is None
    assert doc.text == " ".join((folder / "t17000115-17.txt").read_text().split()).replace(" ,", ",").replace(" .", ".")
    pages = [oldbailey_api_json.parse((folder / page).read_bytes(), {})
             for page in ("housebreaking.json", "housebreaking_page2.json")]  # page 2 is wrapped in a list
    assert [len(hits) for hits in pages] == [10, 4]  # "total": 14
    assert {h.rejected for hits in pages for h in hits} == {"api_snippet"}
    with pytest.raises(ParseError):
        oldbailey_api_json.parse((folder / "t17000115-17.json").read_bytes()[:500], {})
    live = json.loads((folder / "t17000115-17.json").read_text())  # the live API's unwrapped scalars
    live["hits"]["total"] = 1
    assert _one(oldbailey_api_json.parse(json.dumps(live).encode(), {})).text == doc.text


def test_london_lives_text_and_table(shared_corpus):
    folder = shared_corpus / "london-lives-westminster-coroners-inquests/coroners_inquests/wa_inq_txt"
    doc = _one(londonlives.parse_txt((folder / "WACWIC652000005_652000004.txt").read_bytes(), {}))
    assert doc.text.startswith("Westminster City and Liberty in the County of Middlesex")
    table = shared_corpus / "london-lives-pauper-examinations-removals/removal_orders/cdrv_removal_orders_v2_orders.tsv"
    rows = londonlives.parse_tsv(table.read_bytes(), {})
    assert len(rows) == table.read_text().count("\n") - 1
    first = rows[0]
    assert first.date == "1752-11-01" and first.year == 1752 and first.part == "WCCDRV36900_0076"
    assert first.text.startswith("Israel Ripley Novr. 1st. 1752")
    # the series from each record's London Lives id: the inquest by its file name, the orders by their ids
    origin = {"origin": "WACWIC652000005_652000004.txt"}
    assert _one(londonlives.parse_txt((folder / origin["origin"]).read_bytes(), origin)).series == "coroners' inquests"
    assert doc.series is None  # nothing names it
    assert {r.series for r in rows} == {"removal orders"}
    unions = shared_corpus / "london-lives-pauper-examinations-removals/data/llep_irregular_union_disunion_v1.tsv"
    assert {r.series for r in londonlives.parse_tsv(unions.read_bytes(), {})} == {"pauper examinations"}
    with pytest.raises(ParseError, match="no text column"):
        londonlives.parse_tsv(b"a\tb\n1\t2\n", {})


def test_standard_ebooks_endnote_markers_and_matter(shared_corpus):
    text_dir = shared_corpus / "standardebooks-pepys-diary/src/epub/text"
    raw = (text_dir / "chapter-10.xhtml").read_bytes()
    assert b'epub:type="noteref"' in raw
    doc = _one(standardebooks_xhtml.parse(raw, {}))
    assert doc.year == 1660 and doc.date.startswith("1660-")
    assert not re.search(r"[a-z][,.;]?\d{1,4}\b", doc.text)  # no "humour,716"
    for matter in ("imprint.xhtml", "colophon.xhtml", "endnotes.xhtml", "uncopyright.xhtml"):
        assert _one(standardebooks_xhtml.parse((text_dir / matter).read_bytes(), {})).rejected == "editorial_matter"


def test_eebo_tei_long_s_rule_and_joined_initials(shared_corpus):
    raw = (shared_corpus / "eebo-tcp-london-samples/A81426.xml").read_bytes()
    doc = _one(eebo_tei.parse(raw, {}))
    assert doc.year == 1661 and "Guildhall" in doc.title
    assert "\nHOla! Colebrant?\n" in doc.text  # <seg rend="decorInit">H</seg>Ola joined, no space
    assert "ſ" in doc.text and "▪" in doc.text
    kept, normalised = apply_long_s(doc.text, "keep"), apply_long_s(doc.text, "normalise")
    assert "ſ" in kept and "ſ" not in normalised and "▪" not in normalised
    assert "noſtri eſt" in kept and "nostri est" in normalised


def test_ia_djvu_page_numbers_hyphens_and_scanner_lines(shared_corpus):
    raw = (shared_corpus / "ia-djvu-ocr-samples/philtrans01419782_01419782_djvu.txt").read_bytes()
    dirty = (b"Digitized by the Internet Archive \nin 2010 with funding from \nUniversity of Toronto \n\n"
             + raw + b"\n\nDigitized by Google \n")
    doc = _one(ia_djvu_txt.parse(dirty, {}))
    assert "Digitized" not in doc.text and "Internet Archive" not in doc.text
    assert not re.search(r"(^|\n)192(\n|$)", doc.text)  # the page number line
    assert "prepared by Lieutenant Maury" in doc.text  # "pre- \npared" joined
    assert "united labours of the two greatest naval and commercial nations" in doc.text  # lines unwrapped


def test_plain_text_any_encoding(shared_corpus):
    raw = (shared_corpus / "old-bailey-api-json-samples/t17000115-17.txt").read_bytes()
    assert _one(plain_txt.parse(raw, {})).text.startswith("Anne Buckler")


def test_transcribers_errata_at_the_end_are_cut(shared_corpus):
    raw = (shared_corpus / "gutenberg-gitenberg-format-variants/pg25063/25063.txt").read_bytes()
    assert b"Errata Noted by Transcriber:" in raw
    doc = _one(gutenberg_txt.parse(raw, {}))
    assert "Transcriber" not in doc.text and "Inconsistencies:" not in doc.text
    assert "Through all the Employments of Life" in doc.text  # the opera itself is kept


def test_ia_running_heads_repeated_on_pages_are_dropped(shared_corpus):
    raw = (shared_corpus / "ia-djvu-ocr-samples/philtrans07681315_07681315_djvu.txt").read_text(encoding="utf-8")
    blocks = [b for b in raw.split("\n\n") if b.strip()]
    pages = [f"PROCEEDINGS  OF  THE  ROYAL  SOCIETY. \n\n{n + 400} \n\n{block}" for n, block in enumerate(blocks)]
    doc = _one(ia_djvu_txt.parse("\n\n".join(pages).encode("utf-8"), {}))
    assert "PROCEEDINGS" not in doc.text and "ROYAL SOCIETY." not in doc.text
    assert not re.search(r"(^|\n)4\d\d(\n|$)", doc.text)
    assert "sparteine" in doc.text
