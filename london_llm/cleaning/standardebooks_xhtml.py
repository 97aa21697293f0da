"""Standard Ebooks EPUB3 XHTML (e.g. Pepys's Diary, one month a file).

Body text only: endnote markers (`<a epub:type="noteref">716</a>`, which would read
"humour,716") are removed, and front/back matter files (imprint, colophon, uncopyright,
endnotes, title pages, the modern introduction) are rejected as `editorial_matter`.
"""
from __future__ import annotations

from lxml import etree

from .document import ParseError, RawDocument, year_of
from .normalise import collapse_inline

XHTML = "{http://www.w3.org/1999/xhtml}"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
_BLOCKS = {XHTML + t for t in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "td", "header")}
_MATTER = ("frontmatter", "backmatter", "imprint", "colophon", "copyright-page", "endnotes", "titlepage",
           "halftitlepage", "toc", "loi", "dedication")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XHTML: {exc}") from None
    body = root.find(XHTML + "body")
    if body is None:
        raise ParseError("no <body>: not an XHTML content document")
    title_el = root.find(f"{XHTML}head/{XHTML}title")
    title = title_el.text.strip() if title_el is not None and title_el.text else None
    types = " ".join(el.get(EPUB_TYPE, "") for el in [body, *body.iter(XHTML + "section")][:3])
    if any(t in types.split() for t in _MATTER):
        return [RawDocument(text="", title=title, rejected="editorial_matter")]
    for ref in body.xpath(".//*[contains(concat(' ', @epub:type, ' '), ' noteref ')]",
                          namespaces={"epub": "http://www.idpf.org/2007/ops"}):
        parent = ref.getparent()
        if parent is not None:
            # keep the text that follows the marker
            prev = ref.getprevious()
            tail = ref.tail or ""
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
            parent.remove(ref)
    lines = []
    for el in body.iter():
        if el.tag in _BLOCKS and not any(a.tag in _BLOCKS for a in el.iterancestors()):
            line = collapse_inline("".join(el.itertext()))
            if line:
                lines.append(line)
    times = body.iter(XHTML + "time")
    first = next((t.get("datetime") for t in times if t.get("datetime")), None)
    return [RawDocument(text="\n".join(lines), title=title, date=first, year=year_of(first))]
