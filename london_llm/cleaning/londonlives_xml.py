"""London Lives 1690-1800 page XML (FORMATS.md 5): the site's `browse.jsp?...&xml=yes` answer and the
project's bulk XML files (`SERIES/DOCID.xml`, e.g. `SM_PS/LMSMPS50744.xml`), one document per page.

A page is a `<div1 type="SERIESpage" id="...">` (one manuscript image, `<xptr type="pageFacsimile">`
naming it); its text is one line per `<p>`, `<lb/>` (a manuscript line break) read as a space,
`<del>` (struck-through) dropped with its text, `interp`/`join`/`xptr`/`note` (markup) dropped,
spelling as written. The date is the page's or its document's `date`/`year` interp where the markup
carries one (as Old Bailey's does); otherwise the dating step (cleaning.dating, one place for the
rules) reads the record's own statement ("in the Year of our Lord One Thousand seven hundred and
sixty", a year in its opening lines) and counts the page undated when there is none. Each page
keeps its record series (sessions papers, coroners' inquests ...: londonlives_series, from the
div1 type and the collection's id scheme).
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

from lxml import etree

from .document import ParseError, RawDocument, looks_like_html, year_of
from .londonlives_series import series_of
from .normalise import fix_tag_spacing

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
                          load_dtd=False)
_MARKUP = ("interp", "join", "xptr", "note")


def _interp(el, name: str) -> Optional[str]:
    for node in el.iterfind("interp"):
        if node.get("type") == name and node.get("value"):
            return node.get("value")
    return None


def _page_text(page) -> str:
    for lb in page.iter("lb"):
        lb.tail = " " + (lb.tail or "")
    etree.strip_elements(page, "del", *_MARKUP, with_tail=False)
    lines = [" ".join("".join(p.itertext()).split()) for p in (page.findall(".//p") or [page])]
    return "\n".join(line for line in fix_tag_spacing("\n".join(lines)).split("\n") if line.strip())


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        if looks_like_html(data[:2000].decode("utf-8", "replace")):
            raise ParseError("an HTML page, not London Lives XML") from None
        raise ParseError(f"not well-formed XML (truncated, or not XML): {exc}") from None
    pages = [root] if root.tag == "div1" else list(root.iter("div1"))
    if not pages:
        raise ParseError(f"no London Lives page (<div1>) in this XML (root <{root.tag}>)")
    member = str(meta.get("archive_member") or "")  # a bulk file is named by its document id
    document = None if root.tag == "div1" else (root.get("id") or PurePosixPath(member).stem or None)
    doc_date = _interp(root, "date") or _interp(root, "year")
    docs = []
    for page in pages:
        pid = page.get("id")
        code = re.sub(r"page$", "", page.get("type") or "") or None
        marked = _interp(page, "date") or _interp(page, "year") or doc_date
        text = _page_text(page)
        if not text:
            continue  # a blank manuscript page
        year = year_of(marked)
        label = " ".join(x for x in ("London Lives", code, document) if x)
        docs.append(RawDocument(text=text, date=marked, year=year, part=pid,
                                title=f"{label}, page {pid}" if pid else label,
                                series=series_of(page.get("type"), pid, document, member)))
    return docs
