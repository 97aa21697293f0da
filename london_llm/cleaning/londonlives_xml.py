"""London Lives 1690-1800 page XML (FORMATS.md 5): the site's `browse.jsp?...&xml=yes` answer and the
project's bulk XML files (`SERIES/DOCID.xml`, e.g. `SM_PS/LMSMPS50744.xml`), one document per page.

A page is a `<div1 type="SERIESpage" id="...">` (one manuscript image, `<xptr type="pageFacsimile">`
naming it); its text is one line per `<p>`, `<lb/>` (a manuscript line break) read as a space,
`<del>` (struck-through) dropped with its text, `interp`/`join`/`xptr`/`note` (markup) dropped,
spelling as written. The date: the page's or its document's `date`/`year` interp where the markup
carries one (as Old Bailey's does), else the first dated phrase the clerk wrote on the page ("Novr.
1st. 1752", "the 10th. Day of May 1756") within the sidecar's date_range; a page with neither is
left undated for the dating step (cleaning.dating) to try and to count.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

from lxml import etree

from .document import ParseError, RawDocument, looks_like_html, year_of
from .normalise import fix_tag_spacing

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
                          load_dtd=False)
_MARKUP = ("interp", "join", "xptr", "note")
_MONTH_YEAR = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?,?\s+"
                         r"(?:(?:the\s+)?\d{1,2}(?:st|nd|rd|th|d)?\.?,?\s+)?(?:in\s+the\s+year\s+)?(1\d{3})\b",
                         re.I)
DEFAULT_RANGE = (1660, 1820)  # London Lives 1690-1800, with room for papers filed years later


def _interp(el, name: str) -> Optional[str]:
    for node in el.iterfind("interp"):
        if node.get("type") == name and node.get("value"):
            return node.get("value")
    return None


def _written_year(text: str, span: tuple[int, int]) -> Optional[int]:
    for match in _MONTH_YEAR.finditer(text):
        year = int(match.group(1))
        if span[0] <= year <= span[1]:
            return year
    return None


def _page_text(page) -> str:
    for lb in page.iter("lb"):
        lb.tail = " " + (lb.tail or "")
    etree.strip_elements(page, "del", *_MARKUP, with_tail=False)
    lines = [" ".join("".join(p.itertext()).split()) for p in (page.findall(".//p") or [page])]
    return "\n".join(line for line in fix_tag_spacing("\n".join(lines)).split("\n") if line.strip())


def _span(meta: dict) -> tuple[int, int]:
    value = meta.get("date_range")
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(y, int) for y in value):
        return value[0], value[1]
    return DEFAULT_RANGE


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
    origin = str(meta.get("archive_member") or meta.get("origin") or "")
    document = root.get("id") or PurePosixPath(origin).stem or None
    doc_date = _interp(root, "date") or _interp(root, "year")
    span = _span(meta)
    docs = []
    for page in pages:
        pid = page.get("id")
        series = re.sub(r"page$", "", page.get("type") or "") or None
        marked = _interp(page, "date") or _interp(page, "year") or doc_date
        text = _page_text(page)
        if not text:
            continue  # a blank manuscript page
        year = year_of(marked) or _written_year(text, span)
        label = " ".join(x for x in ("London Lives", series, document) if x)
        docs.append(RawDocument(text=text, date=marked or (str(year) if year else None), year=year, part=pid,
                                title=f"{label}, page {pid}" if pid else label))
    return docs
