"""--from-dir for bulk deposits: a zip the user downloaded (the Old Bailey's OBO_XML deposit, London
Lives' bulk XML, a dataset's repository archive) becomes the very download item the online bulk route
makes (collect.plan.archive_item, the collector's sidecar), so the cleaning build reads it member by
member straight out of the zip (cleaning.archive), never unpacked, with the same documents and dedupe.

Which registered `bulk_archive` source a zip belongs to is read from its members, not its file name
(the deposit's real file names were never checked offline, and users rename downloads): the source
whose `members` patterns match some member, the most specific patterns first (`*sessionsPapers/*.xml`
before `*.xml`), then the most members, then a match of the source's `files` patterns on the name.
A zip that cannot be read, or that no source's members match, is one clear error naming the file.
"""
from __future__ import annotations

import fnmatch
import zipfile
from pathlib import Path
from typing import Iterable, Optional

from ..collect.collector import write_sidecar
from ..collect.fetch import file_digests
from ..collect.plan import archive_item
from ..collect.registry import Source
from ..collect.textcheck import NotText, check_archive
from ..errors import LondonLLMError


class DepositError(LondonLLMError, ValueError):
    """A zip in the --from-dir folder is not a usable deposit (the message names it and what to do)."""


def _literal(pattern: str) -> int:
    return sum(ch not in "*?[]" for ch in pattern)


def _members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DepositError(f"{path}: not a readable zip archive ({exc}); download it again (a cut download "
                           "has no central directory)") from None


def match_deposit(path: Path, sources: Iterable[Source]) -> tuple[Source, int]:
    """The bulk source `path` belongs to and how many of its members that source cleans."""
    names = _members(path)
    bulk = [s for s in sources if s.kind == "bulk_archive"]
    best, best_score = None, None
    for source in bulk:
        patterns = list(source.spec.get("members") or ["*"])
        hits = [p for p in patterns if any(fnmatch.fnmatchcase(n, p) for n in names)]
        if not hits:
            continue
        count = sum(any(fnmatch.fnmatchcase(n, p) for p in patterns) for n in names)
        named = any(fnmatch.fnmatchcase(path.name, p) for p in source.spec.get("files") or ())
        score = (max(map(_literal, hits)), count, named)
        if best_score is None or score > best_score:
            best, best_score = source, score
    if best is None:
        expected = "; ".join(f"{s.id}: {', '.join(s.spec.get('members') or ['*'])}" for s in bulk) or "none registered"
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "") if names else "nothing"
        raise DepositError(f"{path}: no registered bulk deposit has members like these (it holds {shown}); "
                           f"expected members: {expected}")
    try:
        check_archive(path, best.format, list(best.spec.get("members") or ["*"]), what=str(path))
    except NotText as exc:
        raise DepositError(f"{exc}; download {path.name} again") from None
    return best, best_score[1]


def plan_deposits(src: Path, sources: Optional[Iterable[Source]]) -> list[tuple[Path, Source]]:
    """Every zip under `src` with its source; raises DepositError on the first that is not a deposit."""
    zips = sorted(p for p in src.rglob("*.zip") if p.is_file() and not p.name.startswith("."))
    if zips and sources is None:
        raise DepositError(f"{zips[0]}: importing a bulk deposit needs the sources registry (its bulk_archive "
                           "entries say which members to clean)")
    sources = list(sources or ())
    return [(path, match_deposit(path, sources)[0]) for path in zips]


def deposit_name(path: Path, source: Source) -> str:
    """The zip's local name under downloads/<source id>/ (sanitised as a remote name is)."""
    return archive_item(source, path.name).name


def write_deposit_sidecar(dest: Path, path: Path, source: Source) -> None:
    """The online route's sidecar (collector.write_sidecar of plan.archive_item) for the placed zip."""
    md5, sha, size = file_digests(dest)
    write_sidecar(dest, archive_item(source, path.name, local_path=path), url=None, size=size, md5=md5, sha256=sha)
