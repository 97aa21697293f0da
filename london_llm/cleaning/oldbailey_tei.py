"""Old Bailey Online TEI XML: session papers (one document per trial account), Ordinary's
Accounts (one document per account) and single `<div1>` records (as the API's `xml` field).

Text is the running text of each `<p>`, without `interp`/`join` (markup only) and `note`
(editorial: `[Transportation. See summary.]`), whitespace collapsed (names are split across
indented lines), and the space that tag boundaries leave before punctuation removed. The date
comes from the session (`<div0 id="17800628">`, `t18360104` after 1834, or the `date` interp).
"""
from __future__ import annotations

import re
from typing import Optional

from lxml import etree

from .document import ParseError, RawDocument, year_of
from .normalise import fix_tag_spacing

_DROP = ("interp", "join", "note", "xptr")
# Editors' insertions: `[Transportation. See summary.]`, `[Pleaded gulty: See orginal trial image.]`,
# `(See Half-Yearly Index.)`.
_EDITORIAL = re.compile(r"[\[(][^\[\]()]{0,80}\bSee (?:summary|original|orginal|trial image|half-yearly index)"
                        r"[^\[\]()]{0,40}[\])]\s*", re.I)
_SESSION_ID = re.compile(r"t?(\d{8})")


def _date_from_id(div_id: Optional[str]) -> Optional[str]:
    match = _SESSION_ID.match(div_id or "") or _SESSION_ID.search(div_id or "")
    if not match:
        return None
    d = match.group(1)
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}"


def _interp(div, name: str) -> Optional[str]:
    for el in div.iterfind("interp"):
        if el.get("type") == name:
            return el.get("value")
    return None


def _itertext(el) -> str:
    return "".join(el.itertext())


def _c_text(el) -> str:
    """"".join(el.itertext()) gathered by libxml2 in one C call (several times faster): the same text
    and CDATA nodes in the same order, and neither counts comments' or PIs' text. They differ only on
    entity references, so parse uses it only on a tree that has none."""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def div_text(div, text_of=_itertext) -> str:
    """Running text of a div: one line per paragraph, editorial notes removed."""
    etree.strip_elements(div, *_DROP, with_tail=False)
    paragraphs = []
    blocks = div.findall(".//p") or [div]
    for p in blocks:
        line = " ".join(text_of(p).split())
        if line:
            paragraphs.append(line)
    # spacing and editorial notes fixed once for the whole text, not once per paragraph
    text, notes = _EDITORIAL.subn("", fix_tag_spacing("\n".join(paragraphs)))
    if not notes:  # each line is still one collapsed, non-empty paragraph: nothing to strip or drop
        return text
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def _trial(div, session_date: Optional[str], text_of=_itertext) -> RawDocument:
    div_id = div.get("id")
    date = session_date or _interp(div, "date") or _date_from_id(div_id)
    if date and re.fullmatch(r"\d{8}", date):
        date = f"{date[:4]}-{date[4:6]}-{date[6:8]}"
    year = year_of(_interp(div, "year")) or year_of(date)
    return RawDocument(text=div_text(div, text_of), title=f"Old Bailey Proceedings, trial {div_id}",
                       date=date, year=year, part=div_id, kind="trial")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    """Documents of one OBO XML file (its encoding declaration is honoured by the XML parser).

    The whole tree is parsed at once: session files are a few MB, and one C-level parse is
    faster than iterparse events; `div_text` strips markup elements in C as well.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML (truncated, or not XML): {exc}") from None
    text_of = _itertext if next(root.iter(etree.Entity), None) is not None else _c_text
    if root.tag == "div1":  # a single record, as the API's `xml` field or a saved trial
        return [_trial(root, None, text_of)]
    docs = []
    for div0 in root.iter("div0"):
        session_date = _date_from_id(div0.get("id")) or _date_from_id(_interp(div0, "date"))
        if div0.get("type") == "ordinarysAccount":
            docs.append(RawDocument(text=div_text(div0, text_of), kind="ordinary", date=session_date,
                                    year=year_of(session_date), part=None,
                                    title=f"Ordinary of Newgate's Account {div0.get('id')}"))
            continue
        for div1 in div0.iterfind("div1"):
            if div1.get("type") == "trialAccount":
                docs.append(_trial(div1, session_date, text_of))
    if not docs and root.find(".//div0") is None:
        raise ParseError("no Old Bailey <div0> or <div1> in this XML file")
    return docs
