"""London Lives 1690-1800: extracted record texts (one a file) and TSV tables with a text column.

Rekeyed manuscript text keeps its spelling (`goal` for gaol, `Middx`). The TSV tables (e.g. the
St Clement Danes removal orders) hold one record a row: the text column is the document, the
date and id columns its metadata. Each record keeps its series (removal orders, pauper
examinations ...) from its London Lives id (londonlives_series).
"""
from __future__ import annotations

import csv
import io
import re

from .document import ParseError, RawDocument, looks_like_html, year_of
from .encoding import decode_bytes
from .londonlives_series import series_of
from .normalise import fix_tag_spacing

TEXT_COLUMNS = ("txt", "text", "order_txt", "snip_txt")
DATE_COLUMNS = ("doc_date", "exam_date", "date")
ID_COLUMNS = ("order_id", "exam_id", "inquisition_img", "name_id", "id", "uid")
_ZERO_DAY = re.compile(r"-00$")


def parse_txt(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page, not a London Lives text")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    series = series_of(None, meta.get("url"), meta.get("origin"), meta.get("archive_member"))  # the record's id
    return [RawDocument(text=fix_tag_spacing("\n".join(line for line in lines if line)), series=series)]


def _pick(header: list[str], names: tuple[str, ...]):
    for name in names:
        if name in header:
            return name
    return None


def parse_tsv(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page, not a London Lives table")
    csv.field_size_limit(10_000_000)
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = reader.fieldnames or []
    text_col = _pick(header, TEXT_COLUMNS)
    if text_col is None:
        raise ParseError(f"no text column ({', '.join(TEXT_COLUMNS)}) in the header {header[:8]}")
    date_col, id_col = _pick(header, DATE_COLUMNS), _pick(header, ID_COLUMNS)
    docs = []
    for row in reader:
        body = fix_tag_spacing(" ".join((row.get(text_col) or "").split()))
        date = _ZERO_DAY.sub("", (row.get(date_col) or "").strip()) if date_col else None
        part = (row.get(id_col) or None) if id_col else None
        docs.append(RawDocument(text=body, date=date or None, year=year_of(date), part=part,
                                title=f"London Lives record {part}" if part else None,
                                series=series_of(None, *(row.get(c) for c in ID_COLUMNS))))
    return docs
