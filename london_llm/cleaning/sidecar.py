"""Download sidecars (`<file>.meta.json`, README "Source downloads (format 1)").

An item is complete exactly when its sidecar exists: the data file is renamed into place
first, the sidecar written last (atomically).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..atomic import write_json
from ..tags import KINDS
from .formats import PARSERS

FORMAT_VERSION = 1
SUFFIX = ".meta.json"
REQUIRED = ("format_version", "source_id", "kind", "format")


class SidecarError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    """One complete download: its data file and its sidecar's fields."""

    path: Path
    meta: dict

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def sidecar_path(data_file: Path) -> Path:
    return data_file.with_name(data_file.name + SUFFIX)


def write_sidecar(data_file: Path, *, source_id: str, kind: str, fmt: str, title: Optional[str] = None,
                  author: Optional[str] = None, date: Optional[str] = None, year: Optional[int] = None,
                  licence: Optional[str] = None, url: Optional[str] = None, origin: Optional[str] = None,
                  **extra: Any) -> dict:
    """Write the sidecar of a complete data file (size and checksums computed here)."""
    if kind not in KINDS:
        raise SidecarError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if fmt not in PARSERS:
        raise SidecarError(f"unknown format {fmt!r}; known: {', '.join(PARSERS)}")
    data = data_file.read_bytes()
    meta = {"format_version": FORMAT_VERSION, "source_id": source_id, "kind": kind, "format": fmt,
            "title": title, "author": author, "date": date, "year": year, "licence": licence}
    if url:
        meta["url"] = url
    if origin or not url:
        meta["origin"] = origin or data_file.name
    meta.update({"bytes": len(data), "md5": hashlib.md5(data).hexdigest(),
                 "sha256": hashlib.sha256(data).hexdigest(),
                 "retrieved": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    meta.update(extra)
    write_json(sidecar_path(data_file), meta)
    return meta


def read_sidecar(path: Path) -> Item:
    """The item a sidecar describes; SidecarError names the file and what to do when it is bad."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{path}: unreadable sidecar ({exc}); delete it and rerun the collector "
                           "to fetch that item again") from None
    if not isinstance(meta, dict) or any(k not in meta for k in REQUIRED):
        raise SidecarError(f"{path}: sidecar lacks {', '.join(k for k in REQUIRED if k not in (meta or {}))}; "
                           "delete it and rerun the collector")
    if meta["format_version"] != FORMAT_VERSION:
        raise SidecarError(f"{path}: sidecar format_version {meta['format_version']} is not {FORMAT_VERSION}; "
                           "rerun the collector to rewrite downloads/")
    if meta["format"] not in PARSERS:
        raise SidecarError(f"{path}: unknown format {meta['format']!r}; known: {', '.join(PARSERS)}")
    data_file = path.with_name(path.name[: -len(SUFFIX)])
    if not data_file.is_file():
        raise SidecarError(f"{path}: its data file {data_file.name} is missing; delete the sidecar and "
                           "rerun the collector")
    return Item(data_file, meta)


def find_sidecars(downloads_dir: Path) -> list[Path]:
    """Every sidecar under downloads/, in a stable order (temporary files skipped)."""
    return sorted(p for p in Path(downloads_dir).rglob(f"*{SUFFIX}") if not p.name.startswith("."))
