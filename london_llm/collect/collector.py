"""The collection run: plan every selected source, fetch what is missing, record what happened.

An item is complete exactly when its sidecar `<file>.meta.json` exists (written last, atomically),
so a rerun skips it without touching the network. One item's failure is recorded and the run goes
on; the summary lists every failure with its reason.
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Optional, Sequence

from tqdm import tqdm

from london_llm import atomic
from london_llm.collect.fetch import DEFAULT_MAX_BYTES, DownloadError, NotFound, Unreachable, download, file_digests
from london_llm.collect.http import HttpSettings, SessionPool
from london_llm.collect.plan import Item, NothingToFetch, PlanError, plan_source
from london_llm.collect.registry import Source
from london_llm.collect.sidecar import FORMAT_VERSION as SIDECAR_FORMAT_VERSION  # the format's one owner
from london_llm.collect.sidecar import sidecar_path
from london_llm.collect.textcheck import LicenceRefused, NotText, check_archive, check_file

log = logging.getLogger("london_llm.collect")
DEFAULT_MAX_ARCHIVE_BYTES = 8 * 1024 ** 3


def skip_marker(file: Path) -> Path:
    """Hidden note that an item is skipped for good (licence, no text), so reruns do not ask again."""
    return file.with_name(f".{file.name}.skip")


@dataclass(frozen=True)
class CollectOptions:
    downloads_dir: Path
    mirrors: Mapping[str, str]
    settings: HttpSettings = HttpSettings()
    workers: int = 4
    max_bytes: int = DEFAULT_MAX_BYTES
    max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES  # a bulk deposit (the Old Bailey's is ~335 MB)
    progress: bool = True
    registry_dir: Optional[Path] = None  # relative 'local' paths are read from here


@dataclass(frozen=True)
class Outcome:
    key: str  # source_id/file, or source_id alone when the source could not be planned
    status: str  # downloaded | present | skipped | failed
    reason: str = ""
    bytes: int = 0
    url: str = ""
    unreachable: Optional[str] = None  # the host that refused every connection


OFFLINE_ADVICE = ("offline? --from-dir DIR imports local copies in the sources' own layouts (e.g. ../shared/corpus), "
                  "and the --*-mirror flags (or LONDON_LLM_*_MIRROR) point at other servers")


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    hosts_down: dict[str, str] = field(default_factory=dict)  # host -> why it could not be connected to
    hosts_answered: set[str] = field(default_factory=set)

    @property
    def no_host_answered(self) -> bool:
        """Every host this run tried was down and nothing was fetched: the machine is offline (or every
        mirror is wrong); the caller should stop with the advice rather than clean nothing."""
        return bool(self.hosts_down) and not self.hosts_answered and self.counts()["downloaded"] == 0

    def counts(self) -> dict[str, int]:
        c = Counter(o.status for o in self.outcomes)
        return {k: c.get(k, 0) for k in ("downloaded", "present", "skipped", "failed")}

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    def to_dict(self) -> dict:
        return {"counts": self.counts(), "bytes_downloaded": sum(o.bytes for o in self.outcomes
                                                                  if o.status == "downloaded"),
                "hosts_down": dict(sorted(self.hosts_down.items())),
                "failed": [o.__dict__ for o in self.failed], "skipped": [o.__dict__ for o in self.skipped]}

    def report(self) -> str:
        c = self.counts()
        lines = [f"downloaded {c['downloaded']}, already present {c['present']}, skipped {c['skipped']}, "
                 f"failed {c['failed']} ({self.to_dict()['bytes_downloaded'] / 1e6:.1f} MB fetched)"]
        for o in self.skipped:
            lines.append(f"  skipped {o.key}: {o.reason}")
        for o in self.failed:
            lines.append(f"  FAILED  {o.key}: {o.reason}")
        unreachable = sorted({o.unreachable for o in self.failed if o.unreachable} | set(self.hosts_down))
        if unreachable:
            why = [f"{h} ({self.hosts_down[h]})" if h in self.hosts_down else h for h in unreachable]
            lines.append(f"  could not connect to {', '.join(why)}: {OFFLINE_ADVICE}")
        if self.failed:
            lines.append("  rerun the same command to retry the failures; completed files are kept")
        return "\n".join(lines)


def _public(outcome: Outcome) -> dict:
    return {k: v for k, v in outcome.__dict__.items() if k != "unreachable"}


def is_complete(file: Path) -> bool:
    """True when the file and its sidecar agree (size); a stale sidecar is removed."""
    meta = sidecar_path(file)
    if not meta.exists():
        return False
    try:
        recorded = json.loads(meta.read_text(encoding="utf-8"))
        if file.exists() and file.stat().st_size == int(recorded.get("bytes", -1)):
            return True
    except (OSError, ValueError, TypeError):
        pass
    log.warning("%s: sidecar does not match the file; fetching it again", meta)
    meta.unlink(missing_ok=True)
    return False


def write_sidecar(file: Path, item: Item, *, url: Optional[str], size: int, md5: str, sha256: str) -> dict:
    s = item.source
    payload = {
        "format_version": SIDECAR_FORMAT_VERSION, "source_id": s.id, "kind": s.doc_kind, "format": s.format,
        "collection": s.collection, "title": item.title or s.title, "author": item.author,
        "date": item.date, "year": item.year, "date_range": list(s.date_range), "licence": s.licence,
        "url": url, "origin": str(item.local_path) if item.local_path else url,
        "bytes": size, "md5": md5, "sha256": sha256,
        "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds"), **dict(item.extra),
    }
    atomic.write_json(sidecar_path(file), payload)
    return payload


def _copy_local(item: Item, final: Path, max_bytes: int) -> tuple[int, str, str]:
    src = item.local_path
    if src.stat().st_size > max_bytes:
        raise DownloadError(f"{src} is over the {max_bytes:,}-byte limit")
    with atomic.atomic_path(final) as tmp:
        shutil.copyfile(src, tmp)
        try:
            check_file(tmp, item.source.format, what=str(src))
        except NotText as exc:
            raise DownloadError(str(exc)) from None
    md5, sha, size = file_digests(final)
    return size, md5, sha


def fetch_item(item: Item, pool: SessionPool, options: CollectOptions) -> Outcome:
    """One item, unless one of its hosts could not be connected to earlier in this run: then it
    fails at once, with the reason (an offline machine or a mistyped mirror costs one try per host)."""
    host = pool.health.down(item.hosts)
    if host:
        return Outcome(item.key, "failed", f"host {host} unreachable ({pool.health.why_down(host)}); check the "
                                           "network or the mirror flag, then rerun", unreachable=host)
    return _fetch_item(item, pool, options)


def _fetch_item(item: Item, pool: SessionPool, options: CollectOptions) -> Outcome:
    final = options.downloads_dir / item.source.id / item.name
    if is_complete(final):
        return Outcome(item.key, "present")
    marker = skip_marker(final)
    if marker.exists():
        return Outcome(item.key, "skipped", marker.read_text(encoding="utf-8").strip())
    try:
        if item.local_path is not None:
            size, md5, sha = _copy_local(item, final, options.max_bytes)
            write_sidecar(final, item, url=None, size=size, md5=md5, sha256=sha)
            return Outcome(item.key, "downloaded", bytes=size, url=str(item.local_path))
        session = pool.get()
        if item.resolve is not None:
            item = item.resolve(session)
        archive = item.extra.get("archive") == "zip"
        check = None
        if archive:
            members = tuple(item.extra.get("members") or ("*",))
            check = lambda path, url: check_archive(path, item.source.format, members, what=url)  # noqa: E731
        got = download(session, item.urls, final, item.source.format, settings=options.settings,
                       expected_size=item.expected_size, expected_md5=item.expected_md5,
                       max_bytes=options.max_archive_bytes if archive else options.max_bytes, log=log.info,
                       check=check)
        write_sidecar(final, item, url=got.url, size=got.bytes, md5=got.md5, sha256=got.sha256)
        return Outcome(item.key, "downloaded", bytes=got.bytes, url=got.url)
    except (LicenceRefused, NothingToFetch) as exc:
        atomic.write_text(marker, str(exc) + "\n")
        log.warning("skipped %s: %s", item.key, exc)
        return Outcome(item.key, "skipped", str(exc))
    except NotFound as exc:
        return Outcome(item.key, "failed", f"not found: {exc}")
    except Unreachable as exc:
        return Outcome(item.key, "failed", f"unreachable: {exc}", unreachable=exc.host)
    except (DownloadError, PlanError, OSError) as exc:
        return Outcome(item.key, "failed", str(exc))


def plan_all(sources: Sequence[Source], pool: SessionPool, options: CollectOptions) -> tuple[list[Item], list[Outcome]]:
    items: list[Item] = []
    problems: list[Outcome] = []
    for source in sources:
        try:
            planned = plan_source(source, mirrors=options.mirrors, settings=options.settings,
                                  session=pool.get(), registry_dir=options.registry_dir)
        except (PlanError, DownloadError, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # a search answer of an unexpected shape fails this source, not the run
            log.error("could not list %s: %s", source.id, exc)
            problems.append(Outcome(source.id, "failed", f"could not list the source: {exc}",
                                    unreachable=getattr(exc, "host", None)))
            continue
        log.info("%s: %d item(s)", source.id, len(planned))
        items.extend(planned)
    return items, problems


def collect(sources: Sequence[Source], options: CollectOptions) -> Summary:
    """Download every item of `sources` that is not complete yet. Never raises for one item."""
    options.downloads_dir.mkdir(parents=True, exist_ok=True)
    pool = SessionPool(options.settings)
    summary = Summary()
    try:
        items, problems = plan_all(sources, pool, options)
        summary.outcomes.extend(problems)
        todo = []
        for item in items:  # complete items are counted without a worker or a request
            if is_complete(options.downloads_dir / item.source.id / item.name):
                summary.outcomes.append(Outcome(item.key, "present"))
            else:
                todo.append(item)
        bar = tqdm(total=len(todo), desc="downloading", unit="file", disable=not options.progress)
        pool_exec = ThreadPoolExecutor(max_workers=max(1, options.workers))
        try:
            futures = {pool_exec.submit(fetch_item, item, pool, options): item for item in todo}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as exc:  # a bug in one item must not lose the others' results
                    item = futures[future]
                    outcome = Outcome(item.key, "failed", f"unexpected {type(exc).__name__}: {exc}")
                summary.outcomes.append(outcome)
                if outcome.status == "failed":
                    log.warning("failed %s: %s", outcome.key, outcome.reason)
                bar.update(1)
                bar.set_postfix(failed=len(summary.failed), refresh=False)
        except KeyboardInterrupt:  # stop queued items; running ones keep their .part files for the rerun
            pool_exec.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool_exec.shutdown(wait=True)
            bar.close()
    finally:
        summary.hosts_down, summary.hosts_answered = pool.health.down_hosts, pool.health.answered
        pool.close()
    summary.outcomes.sort(key=lambda o: o.key)
    return summary


__all__ = ["OFFLINE_ADVICE", "CollectOptions", "Outcome", "Summary", "collect", "fetch_item", "is_complete", "sidecar_path",
           "write_sidecar"]
