"""Bulk downloads read in place: the members of a zip archive (the Old Bailey's OBO_XML deposit)
become cleaning items one by one, each read straight out of the archive when its worker needs it.
The archive is never unpacked: a worker holds one member's bytes at a time.

A download is an archive when its sidecar says `"archive": "zip"`; `members` (glob patterns of
member paths, default every file) chooses what is cleaned, each as the sidecar's `format`. A
`catalogue` (glob of a tab-separated member, e.g. London Lives' inquest catalogue) dates and
titles members as the single-file London Lives source does: `catalogue_key` is the column that
matches a member's file name (its stem up to the first `_`), `catalogue_date` the date column,
`catalogue_title` a template of `{column}` names.
"""
from __future__ import annotations

import csv
import fnmatch
import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from ..errors import LondonLLMError
from .document import year_of
from .sidecar import Item

ARCHIVE_KINDS = ("zip",)
_OPEN: dict[tuple[int, str], zipfile.ZipFile] = {}  # per process: a forked worker opens its own


class ArchiveError(LondonLLMError, ValueError):
    """The archive cannot be read (truncated, not a zip); the message names it and what to do."""


@dataclass(frozen=True)
class _Stat:
    st_size: int


class ZipMember:
    """One member of a zip archive, offering what the per-document cleaning asks of a path
    (`name`, `stat().st_size`, `read_bytes()`, `str()`), so clean.process_item reads it unchanged.

    `name` is the member's path inside the archive (unique there: it orders and names documents).
    """

    def __init__(self, archive: Path, member: str, size: int):
        self.archive, self.member, self.size = Path(archive), member, size
        self.name = member

    def stat(self) -> _Stat:
        return _Stat(self.size)

    def read_bytes(self) -> bytes:
        try:
            with _zip(self.archive).open(self.member) as fh:
                return fh.read()
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:  # a corrupt or truncated member
            raise OSError(f"corrupt archive member ({exc}); delete {self.archive} and its .meta.json and "
                          "rerun the collector") from None

    def __str__(self) -> str:
        return f"{self.archive}!/{self.member}"

    def __repr__(self) -> str:
        return f"ZipMember({str(self)!r})"

    def __reduce__(self):  # pickled to worker processes as its three fields (no open file)
        return (ZipMember, (self.archive, self.member, self.size))


def _zip(path: Path) -> zipfile.ZipFile:
    key = (os.getpid(), str(path))
    archive = _OPEN.get(key)
    if archive is None:
        archive = _OPEN[key] = zipfile.ZipFile(path)
    return archive


def is_archive(item: Item) -> bool:
    return item.meta.get("archive") in ARCHIVE_KINDS


def member_items(item: Item) -> Iterator[Item]:
    """The cleaning items of an archive download: its members that match `members`, in archive order.
    Raises ArchiveError when the archive cannot be opened."""
    patterns = item.meta.get("members") or ["*"]
    if isinstance(patterns, str):
        patterns = [patterns]
    try:
        infos = zipfile.ZipFile(item.path).infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{item.path}: not a readable zip archive ({exc}); delete it and its .meta.json "
                           "and rerun the collector") from None
    base_url = item.meta.get("url") or item.meta.get("origin") or item.path.name
    catalogue = _catalogue(item, infos)
    for info in infos:
        if info.is_dir() or not any(fnmatch.fnmatchcase(info.filename, p) for p in patterns):
            continue
        if PurePosixPath(info.filename).name.startswith("."):  # __MACOSX/._x resource forks and the like
            continue
        meta = {**item.meta, "url": f"{base_url}!/{info.filename}", "title": None, "archive": None,
                "bytes": info.file_size, "archive_member": info.filename}
        row = catalogue.get(PurePosixPath(info.filename).stem.split("_")[0]) if catalogue else None
        if row:
            date = (row.get(item.meta.get("catalogue_date") or "") or "").strip() or None
            template = item.meta.get("catalogue_title")
            meta.update(date=date, year=year_of(date), title=re.sub(
                r"\{(\w+)\}", lambda m: (row.get(m.group(1)) or "").strip(), template) if template else None)
        yield Item(ZipMember(item.path, info.filename, info.file_size), meta)


MAX_CATALOGUE_BYTES = 64 * 1024 * 1024


def _catalogue(item: Item, infos) -> dict:
    """Rows of the archive's catalogue member by `catalogue_key`, or {} when there is none."""
    pattern, key = item.meta.get("catalogue"), item.meta.get("catalogue_key")
    if not pattern or not key:
        return {}
    info = next((i for i in infos if fnmatch.fnmatchcase(i.filename, pattern)), None)
    if info is None or info.file_size > MAX_CATALOGUE_BYTES:
        return {}
    data = ZipMember(item.path, info.filename, info.file_size).read_bytes()
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", "replace")), delimiter="\t")
    return {row[key]: row for row in reader if row.get(key)}
