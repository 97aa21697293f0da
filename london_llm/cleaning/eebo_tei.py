"""EEBO-TCP TEI P5 transcriptions of early modern print (long s kept as keyed).

Text is everything under `<text>` except `note` and `gap` (illegible: dropped, not guessed),
with block elements (paragraphs, verse lines, headings, speakers) on their own lines.
Inline pieces join without spaces (`<seg rend="decorInit">H</seg>Ola` -> `Hola`).
The date, title and author come from the header's description of the printed source.
"""
from __future__ import annotations

from lxml import etree

from .document import ParseError, RawDocument, year_of
from .normalise import collapse_inline

TEI = "{http://www.tei-c.org/ns/1.0}"
_BLOCKS = {TEI + t for t in ("p", "l", "head", "speaker", "item", "closer", "salute", "signed", "trailer",
                             "byline", "dateline", "argument", "opener", "stage", "label", "cell")}
_DROP = (TEI + "note", TEI + "gap", TEI + "figDesc")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=True)


def _first(root, path: str):
    found = root.find(path)
    return " ".join("".join(found.itertext()).split()) if found is not None else None


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed TEI XML: {exc}") from None
    text_el = root.find(f"{TEI}text")
    if text_el is None:
        raise ParseError("no TEI <text> element")
    source = f"{TEI}teiHeader/{TEI}fileDesc/{TEI}sourceDesc//"
    title = _first(root, f"{source}{TEI}title")
    author = _first(root, f"{source}{TEI}author")
    date = _first(root, f"{source}{TEI}date")
    etree.strip_elements(text_el, *_DROP, with_tail=False)
    lines = []
    for el in text_el.iter(*_BLOCKS):
        if any(a.tag in _BLOCKS for a in el.iterancestors()):
            continue
        line = collapse_inline("".join(el.itertext()))
        if line:
            lines.append(line)
    return [RawDocument(text="\n".join(lines), title=title, author=author,
                        date=str(year_of(date)) if year_of(date) else None, year=year_of(date))]
