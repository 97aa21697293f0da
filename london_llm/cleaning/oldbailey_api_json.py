"""Old Bailey API (DHI, 2023-) JSON responses: single records and search pages.

Accepts both live shapes (`"total": 14` / `{"value": 14}`) and the R-written samples that wrap
every scalar in a one-element list. A record with its full TEI (`xml`) is parsed like the OBO
XML; a record with only `text` keeps it; search hits carry a ~500-character snippet of the
trial, not the trial, so they are rejected as `api_snippet` (fetch the single record instead).
"""
from __future__ import annotations

import json
from typing import Any

from . import oldbailey_tei
from .document import ParseError, RawDocument, year_of
from .normalise import fix_tag_spacing

SNIPPET_CHARS = 500  # the search endpoint truncates `text` at about this length


def _unwrap(value: Any) -> Any:
    """[x] -> x for the one-element lists R's jsonlite writes around scalars."""
    if isinstance(value, list):
        if len(value) == 1 and not isinstance(value[0], (dict, list)):
            return value[0]
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    try:
        payload = _unwrap(json.loads(data.decode("utf-8-sig", errors="replace")))
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (truncated or an error page?): {exc}") from None
    if isinstance(payload, list) and len(payload) == 1:  # some saved pages wrap the response in a list
        payload = payload[0]
    hits = (payload.get("hits") or {}).get("hits") if isinstance(payload, dict) else None
    if not isinstance(hits, list):
        raise ParseError("no hits.hits list: not an Old Bailey API response")
    single = len(hits) == 1
    docs = []
    for hit in hits:
        source = hit.get("_source") or {}
        idkey = source.get("idkey")
        if source.get("xml"):
            docs.extend(oldbailey_tei.parse(source["xml"].encode("utf-8"), meta))
            continue
        text = fix_tag_spacing(" ".join(str(source.get("text") or "").split()))
        year = year_of(idkey[1:5] if idkey else None) or year_of(source.get("title"))
        snippet = not single or len(text) <= SNIPPET_CHARS and "html" not in source
        docs.append(RawDocument(text=text, title=source.get("title"), year=year, part=idkey,
                                kind="ordinary" if str(idkey).startswith("OA") else "trial",
                                rejected="api_snippet" if snippet else None))
    return docs
