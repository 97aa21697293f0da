"""Your own folder of plain-text files (`--add-texts FOLDER`) -> download items with sidecars.

Every `*.txt` and `*.txt.gz` under the folder (recursively; hidden files and folders skipped) becomes
one item under downloads/<source id>/ (default `own_texts`), so the cleaning build treats it like
any download: encoding detection, the Gutenberg boilerplate rules when the file is a Project
Gutenberg text, the editorial and contamination rules, dating, filters and dedupe.

What a file cannot be is refused here, one line each naming it and what to do: empty, binary (NUL
bytes, a PDF, zip or image), an HTML page saved as .txt, over the size limit, unreadable, or
marked for personal use only. The data file is placed atomically and its sidecar written last
(an item is complete exactly when its sidecar exists); a rerun skips a file whose text and
metadata are unchanged, and rewrites only the sidecar when only its metadata changed.

Metadata per file (title, author, licence, kind) comes from the user's `--metadata` file (rows keyed
by the file's name or its path inside the folder), else the flags' defaults; the title falls back
to a Gutenberg file's `Title:` line, else the file's stem. The year is not written here: the
build's dating reads the same `--metadata` file (route `metadata`), else the text's title page.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from ..atomic import write_bytes
from ..collect.names import safe_filename
from ..collect.textcheck import LicenceRefused, NotText, check_body
from ..errors import LondonLLMError
from ..tags import KINDS
from .dating import metadata_entry
from .sidecar import sidecar_path, write_sidecar

SOURCE_ID = "own_texts"
COLLECTION = "own_texts"  # the documents' `source`: publishing recognises the user's own texts by it
DEFAULT_KIND = "book"
WORKERS = 4
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")  # as the registry's source ids (they name a folder)
_GUTENBERG = re.compile(rb"\*{3}\s*START\s+OF\s+(?:THE|THIS)\s+PROJECT\s+GUTENBERG|"
                        rb"PROJECT\s+GUTENBERG(?:'S)?\s+E-?(?:BOOK|TEXT)", re.I)
_TITLE = re.compile(r"^\s*Title:\s*(.+)$", re.M)


class OwnTextsError(LondonLLMError, ValueError):
    """The folder as a whole cannot be imported (missing, empty, bad options): one line, exit 2."""


class Refused(LondonLLMError, ValueError):
    """One file that is not usable plain text; the message says why and what to do (the import lists it and
    goes on; a LondonLLMError like every stage error, should one ever reach a door)."""


@dataclass
class OwnTextsSummary:
    source_id: str
    imported: int = 0   # new or changed text
    updated: int = 0    # same text, new metadata (sidecar rewritten)
    unchanged: int = 0  # already imported as it is
    refused: list = field(default_factory=list)  # one line per file left out

    def as_dict(self) -> dict:
        return {"source_id": self.source_id, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "refused": self.refused}


def find_texts(folder: Path, skip: Optional[Path] = None) -> list[Path]:
    """Every *.txt and *.txt.gz under `folder`, recursively, in a stable order; hidden ones skipped, and
    those under `skip` (downloads/: a folder that holds it must not import our own copies again)."""
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or (skip is not None and path.is_relative_to(skip)):
            continue
        if path.name.lower().endswith((".txt", ".txt.gz")) and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def read_text_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes (a .gz decompressed), at most `max_bytes`; Refused otherwise."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(max_bytes + 1)  # bounded: a small .gz may unpack to far more
        else:
            if path.stat().st_size > max_bytes:
                raise Refused(f"{path.stat().st_size:,} bytes, over the {max_bytes:,}-byte limit for one file: "
                              "split it, or raise --max-bytes")
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise Refused(f"unreadable ({getattr(exc, 'strerror', None) or exc}): check its permissions, or that a .gz "
                      "is complete") from None
    if len(data) > max_bytes:
        raise Refused(f"over the {max_bytes:,}-byte limit for one file once decompressed: split it, or raise "
                      "--max-bytes")
    return data


def check_text(data: bytes) -> None:
    """Refused when `data` is not plain text we may use (collect.textcheck: the downloads' checks)."""
    try:
        check_body(data, "plain_txt", what="file")
    except LicenceRefused:
        raise Refused("marked 'WORLD LIBRARY, INC.': licensed for personal use only, so left out") from None
    except NotText as exc:
        # textcheck says "file: got a PDF, expected text (plain_txt)": keep what it got
        reason = re.sub(r"^file: (?:got )?|, expected .*$", "", str(exc))
        if "empty" in reason:
            raise Refused("empty: put text in it, or remove it") from None
        if "HTML" in reason:
            raise Refused(f"{reason} saved as .txt: save it as plain text, or remove it") from None
        raise Refused(f"{reason}, not plain text: convert it to a .txt file, or remove it") from None


def item_names(folder: Path, files: list[Path]) -> dict[Path, str]:
    """A safe download name per file, from its path inside the folder ('a/b.txt' -> 'a__b.txt'; a .gz loses
    its .gz); names that come out the same for two files each get a short hash of their path."""
    def base(path: Path) -> str:
        rel = path.relative_to(folder).as_posix()
        rel = rel[:-3] if rel.lower().endswith(".gz") else rel
        return safe_filename(rel.replace("/", "__"), default="text.txt")

    names = {path: base(path) for path in files}
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    for path, name in names.items():
        if seen[name] > 1:
            digest = hashlib.sha256(path.relative_to(folder).as_posix().encode()).hexdigest()[:8]
            stem, dot, ext = name.rpartition(".")
            names[path] = f"{stem}_{digest}.{ext}" if dot else f"{name}_{digest}"
    return names


def _stem(path: Path) -> str:
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem


def describe(path: Path, rel: str, data: bytes, entry: Optional[Mapping], *, licence: Optional[str],
             kind: str, source_id: str, folder_name: str) -> dict:
    """The sidecar fields of one of the user's files (metadata row, else the defaults)."""
    entry = entry or {}
    fmt = "gutenberg_txt" if _GUTENBERG.search(data[:60_000]) else "plain_txt"
    title = entry.get("title")
    if not title and fmt == "gutenberg_txt":
        match = _TITLE.search(data[:20_000].decode("utf-8", "replace"))
        title = match.group(1).strip() if match else None
    doc_kind = str(entry.get("kind") or kind).strip().lower()
    if doc_kind not in KINDS:
        raise Refused(f"kind {doc_kind!r} (its metadata row) is not one of {', '.join(KINDS)}: fix the row")
    return {"source_id": source_id, "kind": doc_kind, "fmt": fmt, "title": title or _stem(path),
            "author": entry.get("author") or None,
            "licence": entry.get("licence") or entry.get("license") or licence or None,
            "origin": f"{folder_name}/{rel}", "collection": COLLECTION, "path": rel}


def _unchanged(dest: Path, sha256: str, fields: dict) -> Optional[bool]:
    """None: not imported yet (or its text changed); True: the same text and fields; False: same text, new fields."""
    side = sidecar_path(dest)
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not dest.is_file() or meta.get("sha256") != sha256:
        return None
    wanted = {("format" if k == "fmt" else k): v for k, v in fields.items()}
    return all(meta.get(k) == v for k, v in wanted.items())


def check_source_id(source_id: str, registered: tuple = ()) -> str:
    if not _ID.match(source_id or ""):
        raise OwnTextsError(f"--texts-source {source_id!r} must be lower-case letters, digits, '_', '.', '-' "
                            "(it names a folder under downloads/)")
    if source_id in registered:
        raise OwnTextsError(f"--texts-source {source_id!r} is a registry source's id; choose another name")
    return source_id


def import_own_texts(folder, downloads_dir, *, metadata: Optional[Mapping] = None, licence: Optional[str] = None,
                     kind: str = DEFAULT_KIND, source_id: str = SOURCE_ID, max_bytes: int) -> OwnTextsSummary:
    """Import every .txt/.txt.gz of `folder` into downloads/<source_id>/ (module doc). OwnTextsError when the
    folder is missing, holds no such file, or none of its files is usable; refused files are listed."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise OwnTextsError(f"--add-texts {folder}: " + ("not a folder" if folder.exists() else "no such folder")
                            + "; give the folder holding your .txt files")
    if kind not in KINDS:
        raise OwnTextsError(f"--texts-kind {kind!r} is not one of {', '.join(KINDS)}")
    folder = folder.resolve()
    files = find_texts(folder, skip=Path(downloads_dir).resolve())
    if not files:
        raise OwnTextsError(f"--add-texts {folder}: no .txt or .txt.gz file in it (looked in every subfolder); "
                            "put your plain-text files there")
    names = item_names(folder, files)
    target = Path(downloads_dir) / source_id

    def one(path: Path) -> str:
        rel = path.relative_to(folder).as_posix()
        try:
            data = read_text_bytes(path, max_bytes)
            check_text(data)
            entry = metadata_entry(metadata or {}, {"origin": rel, "path": rel}, path.name)
            fields = describe(path, rel, data, entry, licence=licence, kind=kind, source_id=source_id,
                              folder_name=folder.name)
        except Refused as exc:
            return f"{path}: {exc}"
        dest = target / names[path]
        digest = hashlib.sha256(data).hexdigest()
        same = _unchanged(dest, digest, fields)
        if same:
            return "unchanged"
        target.mkdir(parents=True, exist_ok=True)
        sidecar_path(dest).unlink(missing_ok=True)  # incomplete until the sidecar is back
        if same is None:
            write_bytes(dest, data)
        write_sidecar(dest, added_from=str(path), **fields, digests=(len(data), hashlib.md5(data).hexdigest(), digest))
        return "imported" if same is None else "updated"

    summary = OwnTextsSummary(source_id)
    # each data file and sidecar is fsynced before its rename: threads overlap those waits (as the importer's);
    # few, since each holds one file's bytes (at most max_bytes)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for outcome in pool.map(one, files):
            if outcome in ("imported", "updated", "unchanged"):
                setattr(summary, outcome, getattr(summary, outcome) + 1)
            else:
                summary.refused.append(outcome)
    if not (summary.imported or summary.updated or summary.unchanged):
        raise OwnTextsError(f"--add-texts {folder}: none of its {len(files)} text file(s) is usable; first: "
                            f"{summary.refused[0]}")
    return summary
