"""The download sidecar (`<file>.meta.json`, README "Source downloads"): its ONE definition.

Written by the collector (collect.collector) and by the offline importer (cleaning.importer), read by
the cleaning build (cleaning.sidecar). An item is complete exactly when its sidecar exists: the data
file is renamed into place first, the sidecar written last (atomically).

Fields (format 1): `format_version, source_id, kind, format, title, author, date, year, licence`, `url`
and/or `origin`, `bytes, md5, sha256, retrieved`, and whatever more the source knows (`collection`,
`date_range`, `ebook`, `identifier` ...). A format change is made here: bump FORMAT_VERSION and keep
the old version in READABLE_VERSIONS while read_meta can still read it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Optional

from ..atomic import write_json
from ..errors import LondonLLMError
from ..tags import KINDS
from .registry import FORMATS

FORMAT_VERSION = 1
READABLE_VERSIONS = (1,)
SUFFIX = ".meta.json"
REQUIRED = ("format_version", "source_id", "kind", "format")


class SidecarError(LondonLLMError, ValueError):
    pass


def sidecar_path(data_file: Path) -> Path:
    return Path(data_file).with_name(Path(data_file).name + SUFFIX)


def data_path(sidecar: Path) -> Path:
    return Path(sidecar).with_name(Path(sidecar).name[: -len(SUFFIX)])


def write_sidecar(data_file: Path, *, source_id: str, kind: str, fmt: str, title: Optional[str] = None,
                  author: Optional[str] = None, date: Optional[str] = None, year: Optional[int] = None,
                  licence: Optional[str] = None, url: Optional[str] = None, origin: Optional[str] = None,
                  digests: Optional[tuple[int, str, str]] = None, **extra: Any) -> dict:
    """Write the sidecar of a complete data file. `digests` = (bytes, md5, sha256) when the caller
    already has them; otherwise they are computed here."""
    if kind not in KINDS:
        raise SidecarError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise SidecarError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if digests is None:
        data = Path(data_file).read_bytes()
        digests = (len(data), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())
    meta = {"format_version": FORMAT_VERSION, "source_id": source_id, "kind": kind, "format": fmt,
            "title": title, "author": author, "date": date, "year": year, "licence": licence}
    if url:
        meta["url"] = url
    if origin or not url:
        meta["origin"] = origin or Path(data_file).name
    meta.update({"bytes": digests[0], "md5": digests[1], "sha256": digests[2],
                 "retrieved": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    meta.update(extra)
    write_json(sidecar_path(data_file), meta)
    return meta


def read_meta(path: Path) -> dict:
    """A sidecar's fields, checked; SidecarError names the file and what to do when it is bad."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{path}: unreadable sidecar ({exc}); delete it and rerun the collector "
                           "to fetch that item again") from None
    if not isinstance(meta, dict) or any(k not in meta for k in REQUIRED):
        have = meta if isinstance(meta, dict) else {}
        raise SidecarError(f"{path}: sidecar lacks {', '.join(k for k in REQUIRED if k not in have)}; "
                           "delete it and rerun the collector")
    if meta["format_version"] not in READABLE_VERSIONS:
        raise SidecarError(f"{path}: sidecar format_version {meta['format_version']} is not "
                           f"{' or '.join(map(str, READABLE_VERSIONS))}; rerun the collector to rewrite downloads/")
    if meta["format"] not in FORMATS:
        raise SidecarError(f"{path}: unknown format {meta['format']!r}; known: {', '.join(FORMATS)}")
    if not data_path(path).is_file():
        raise SidecarError(f"{path}: its data file {data_path(path).name} is missing; delete the sidecar and "
                           "rerun the collector")
    return meta


def find_sidecars(downloads_dir: Path) -> list[Path]:
    """Every sidecar under downloads/, in a stable order (temporary files skipped)."""
    return sorted(p for p in Path(downloads_dir).rglob(f"*{SUFFIX}") if not p.name.startswith("."))
