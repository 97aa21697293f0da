"""London Lives' record series, read from the collection's id scheme (FORMATS.md 5).

Every London Lives document and image id is archive + series + number: `LMSMPS50744` is London
Metropolitan Archives (LM), Middlesex Sessions (SM), sessions Papers (PS); `WACWIC…`, `GLBAEP…`,
`WCCDRV…` likewise. The page XML names the series in its markup too, `<div1 type="SM_PSpage">`.
The series' last two letters say what kind of record it is, and the site documents each such
type under its code (londonlives.org/static/EP.jsp, IC.jsp, RV.jsp, WB.jsp ...). All of London
Lives is one document kind (`parish`, tags.KINDS); this is the finer label each document keeps
in its `series` field. A type code not listed here is kept as the series code itself ("SM_XX"),
so a document is never labelled with a type it is not.
"""
from __future__ import annotations

import re
from typing import Optional

# The record types the collection's documentation names (FORMATS.md 5, the datasets' READMEs).
RECORD_TYPES = {
    "PS": "sessions papers",
    "IC": "coroners' inquests",
    "EP": "pauper examinations",
    "RV": "removal orders",
    "WB": "bastardy bonds",
}

_DIV_TYPE = re.compile(r"^([A-Z]{2})_([A-Z]{2})page$")  # <div1 type="SM_PSpage">
_ID = re.compile(r"(?<![A-Z])[A-Z]{2}([A-Z]{2})([A-Z]{2})(?=\d)")  # LM SM PS 50744..., in a name or URL


def series_code(div_type: Optional[str] = None, *ids: Optional[str]) -> Optional[str]:
    """"SM_PS" from the page's div1 type, else from the first London Lives id among `ids`."""
    match = _DIV_TYPE.match(div_type or "")
    if match:
        return f"{match.group(1)}_{match.group(2)}"
    for value in ids:
        match = _ID.search(value or "")
        if match:
            return f"{match.group(1)}_{match.group(2)}"
    return None


def series_of(div_type: Optional[str] = None, *ids: Optional[str]) -> Optional[str]:
    """The record type of a London Lives page or record ("sessions papers" for SM_PS / LMSMPS...),
    the series code where its type is not a documented one, None where nothing names a series."""
    code = series_code(div_type, *ids)
    return None if code is None else RECORD_TYPES.get(code[3:], code)
