"""The format names of the download sidecars, the parser for each, and its collection."""
from __future__ import annotations

from typing import Callable

from . import (eebo_tei, gutenberg_txt, ia_djvu_txt, londonlives, londonlives_xml, oldbailey_api_json,
               oldbailey_tei, ordinary_txt, plain_txt, standardebooks_xhtml)
from .document import RawDocument

Parser = Callable[[bytes, dict], "list[RawDocument]"]

PARSERS: dict[str, Parser] = {
    "gutenberg_txt": gutenberg_txt.parse,
    "oldbailey_tei": oldbailey_tei.parse,
    "oldbailey_api_json": oldbailey_api_json.parse,
    "ordinary_txt": ordinary_txt.parse,
    "londonlives_txt": londonlives.parse_txt,
    "londonlives_tsv": londonlives.parse_tsv,
    "londonlives_xml": londonlives_xml.parse,
    "standardebooks_xhtml": standardebooks_xhtml.parse,
    "eebo_tei": eebo_tei.parse,
    "ia_djvu_txt": ia_djvu_txt.parse,
    "plain_txt": plain_txt.parse,
}

# The collection a cleaned document's `source` field names, by format.
COLLECTIONS = {
    "gutenberg_txt": "gutenberg",
    "oldbailey_tei": "old_bailey",
    "oldbailey_api_json": "old_bailey",
    "ordinary_txt": "old_bailey",
    "londonlives_txt": "london_lives",
    "londonlives_tsv": "london_lives",
    "londonlives_xml": "london_lives",
    "standardebooks_xhtml": "standard_ebooks",
    "eebo_tei": "eebo_tcp",
    "ia_djvu_txt": "internet_archive",
    "plain_txt": "local",
}


def parser_for(fmt: str) -> Parser:
    try:
        return PARSERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(PARSERS)}") from None
