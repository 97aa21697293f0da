"""What each source kind fetches: registry entries become download items.

Every item has a local file name fixed before anything is fetched (so a rerun can see it is
already complete without asking the server), the candidate URLs in the order to try, and the
metadata its sidecar records. Items whose URL is only known after an API call (Internet Archive:
the metadata API names the DjVuTXT file and publishes its md5 and size) carry a `resolve` step
that runs in the worker.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests

from london_llm.collect.api import LazyCatalogue, NothingToFetch, PlanError, get_json
from london_llm.collect.http import HttpSettings
from london_llm.collect.names import safe_filename
from london_llm.collect.registry import Source

MAX_SEARCH_ITEMS = 10_000  # input bound: no search expands into more items than this


@dataclass(frozen=True)
class Item:
    source: Source
    name: str  # safe local file name inside downloads/<source_id>/
    urls: tuple[str, ...] = ()
    local_path: Optional[Path] = None  # kind 'local': copied, not fetched
    title: Optional[str] = None
    author: Optional[str] = None
    date: Optional[str] = None
    year: Optional[int] = None
    expected_size: Optional[int] = None
    expected_md5: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # more sidecar fields (identifier, ebook, ...)
    resolve: Optional[Callable[[requests.Session], "Item"]] = None  # fills urls / md5 / size
    first_contact: str = ""  # the URL `resolve` asks first (for items without urls yet)

    @property
    def key(self) -> str:
        return f"{self.source.id}/{self.name}"

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(u).netloc for u in (*self.urls, self.first_contact) if u}


def _year_of(text: Any) -> Optional[int]:
    match = re.search(r"(1[0-9]{3})", str(text or ""))
    return int(match.group(1)) if match else None


def _date_from_obo_id(identifier: str) -> tuple[Optional[str], Optional[int]]:
    match = re.search(r"(1[5-9]\d{2})(\d{2})(\d{2})", identifier)
    if not match:
        return None, None
    y, m, d = match.groups()
    return f"{y}-{m}-{d}", int(y)


def gutenberg_urls(base: str, ebook: int, variants: Optional[list[str]] = None) -> tuple[str, ...]:
    """Candidate text URLs, best first (FORMATS.md 2.3): generated UTF-8, producer's UTF-8, Latin-1, ASCII."""
    table = {"cache": f"{base}/cache/epub/{ebook}/pg{ebook}.txt", "utf8": f"{base}/files/{ebook}/{ebook}-0.txt",
             "latin1": f"{base}/files/{ebook}/{ebook}-8.txt", "ascii": f"{base}/files/{ebook}/{ebook}.txt"}
    return tuple(table[v] for v in (variants or ["cache", "utf8", "latin1", "ascii"]))


def _plan_gutenberg(source: Source, mirrors: Mapping[str, str], **_: Any) -> Iterator[Item]:
    ebook = source.spec["ebook"]
    yield Item(source, f"pg{ebook}.txt", gutenberg_urls(mirrors["gutenberg"], ebook, source.spec.get("variants")),
               title=source.title, author=source.author, year=source.year,
               date=str(source.year) if source.year else None, extra={"ebook": ebook})


def _ia_item(source: Source, identifier: str, mirrors: Mapping[str, str], settings: HttpSettings,
             hint: Optional[Mapping[str, Any]] = None) -> Item:
    base = mirrors["internet_archive"]

    def resolve(session: requests.Session) -> Item:
        url = f"{base}/metadata/{quote(identifier, safe='')}"
        meta = get_json(session, url, settings)
        if not meta or not isinstance(meta, dict) or "files" not in meta:
            raise PlanError(f"Internet Archive has no item {identifier!r} (empty metadata from {url})")
        texts = [f for f in meta.get("files") or [] if isinstance(f, dict) and f.get("format") == "DjVuTXT"]
        if not texts:
            raise NothingToFetch(f"item {identifier!r} has no DjVuTXT (OCR text) file")
        chosen = sorted(texts, key=lambda f: (not str(f.get("name", "")).startswith(identifier),
                                              str(f.get("name"))))[0]
        name = str(chosen["name"])
        if name.startswith("/") or ".." in name.split("/"):
            raise PlanError(f"item {identifier!r}: refusing file name {name!r}")
        md = meta.get("metadata") or {}
        first = lambda v: (v[0] if isinstance(v, list) and v else v) or None  # noqa: E731 - str or list
        size = chosen.get("size")
        return replace(item, urls=(f"{base}/download/{quote(identifier, safe='')}/{quote(name)}",),
                       title=first(md.get("title")) or item.title, author=first(md.get("creator")),
                       date=first(md.get("date")), year=_year_of(first(md.get("date"))),
                       expected_size=int(size) if str(size or "").isdigit() else None,
                       expected_md5=chosen.get("md5") or None,
                       extra={**item.extra, "remote_name": name,
                              "possible_copyright_status": first(md.get("possible-copyright-status"))},
                       resolve=None)

    hint = hint or {}
    item = Item(source, safe_filename(f"{identifier}_djvu.txt"), title=hint.get("title") or None,
                extra={"identifier": identifier}, resolve=resolve, first_contact=f"{base}/metadata/")
    return item


def _plan_ia(source: Source, mirrors: Mapping[str, str], settings: HttpSettings, **_: Any) -> Iterator[Item]:
    for identifier in source.spec["identifiers"]:
        yield _ia_item(source, identifier, mirrors, settings)


def _plan_ia_search(source: Source, mirrors: Mapping[str, str], settings: HttpSettings,
                    session: requests.Session, **_: Any) -> Iterator[Item]:
    spec = source.spec
    limit = min(int(spec.get("max_items", 50)), MAX_SEARCH_ITEMS)
    rows = min(int(spec.get("rows", 100)), limit) or 1
    seen: set[str] = set()
    page = 1
    while len(seen) < limit:
        params = [("q", spec["query"]), ("fl[]", "identifier"), ("fl[]", "title"), ("rows", rows),
                  ("page", page), ("output", "json")]
        if spec.get("sort"):
            params.append(("sort[]", spec["sort"]))
        url = f"{mirrors['internet_archive']}/advancedsearch.php?{urlencode(params)}"
        answer = get_json(session, url, settings)
        response = answer.get("response") if isinstance(answer, dict) else None
        docs = response.get("docs") if isinstance(response, dict) else None
        if not isinstance(docs, list):
            raise PlanError(f"advanced search answered without response.docs: {url}")
        fresh = [d for d in docs if isinstance(d, dict) and isinstance(d.get("identifier"), str)
                 and d["identifier"] not in seen]
        for doc in fresh[: limit - len(seen)]:
            seen.add(doc["identifier"])
            title = doc.get("title")
            yield _ia_item(source, doc["identifier"], mirrors, settings,
                           {"title": title[0] if isinstance(title, list) and title else title})
        total = response.get("numFound", 0)
        if not fresh or page * rows >= int(total or 0):
            break
        page += 1


def _old_bailey_api_ids(source: Source, base: str, settings: HttpSettings,
                        session: requests.Session) -> list[str]:
    """Record ids from the DHI search API, paged by `from` (10 a page)."""
    query = dict(source.spec["api_search"])
    limit = min(int(source.spec.get("max_items", 100)), MAX_SEARCH_ITEMS)
    ids: list[str] = []
    start = 0
    while len(ids) < limit:
        url = f"{base}/oldbailey_record?{urlencode({**query, 'from': start})}"
        answer = _scalar(get_json(session, url, settings))
        hits = _scalar(answer.get("hits")) if isinstance(answer, dict) else None
        if not isinstance(hits, dict) or not isinstance(hits.get("hits"), list):
            raise PlanError(f"Old Bailey search answered without hits.hits: {url}")
        sources = [_scalar(h.get("_source")) for h in hits["hits"] if isinstance(h, dict)]
        page = [_scalar(src.get("idkey")) for src in sources if isinstance(src, dict)]
        page = [i for i in page if isinstance(i, str) and i not in ids]
        ids.extend(page[: limit - len(ids)])
        total = _scalar(hits.get("total"))
        total = _scalar(total.get("value")) if isinstance(total, dict) else total
        start += len(hits["hits"])
        if not page or start >= int(total or 0):
            break
    return ids


def _scalar(value: Any) -> Any:
    """The live API gives scalars; R-written copies wrap them in 1-element lists (FORMATS.md 3.2)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _plan_old_bailey(source: Source, mirrors: Mapping[str, str], settings: HttpSettings,
                     session: requests.Session, **_: Any) -> Iterator[Item]:
    series = source.spec["series"]
    if series == "api":
        base = mirrors["old_bailey_api"]
        ids = list(source.spec.get("ids") or []) or _old_bailey_api_ids(source, base, settings, session)
        for idkey in ids:
            date, year = _date_from_obo_id(idkey)
            yield Item(source, safe_filename(f"{idkey}.json"),
                       (f"{base}/oldbailey_record_single?{urlencode({'idkey': idkey})}",),
                       title=f"Old Bailey record {idkey}", date=date, year=year, extra={"idkey": idkey})
        return
    for ident in source.spec["ids"]:
        date, year = _date_from_obo_id(ident)
        if series == "ordinarys_text":
            url, name = f"{mirrors['old_bailey_text']}/oa_txt/{quote(ident)}.txt", f"{ident}.txt"
        else:
            url, name = f"{mirrors['old_bailey']}/{series}/{quote(ident)}.xml", f"{ident}.xml"
        label = "Ordinary's Account" if series != "sessionsPapers" else "Old Bailey Proceedings, session"
        yield Item(source, safe_filename(name), (url,), title=f"{label} {date or ident}", date=date,
                   year=year, extra={"obo_id": ident})


def _plan_files(source: Source, base: str, paths: list[str], prefix: str = "") -> Iterator[Item]:
    for rel in paths:
        full = f"{prefix.strip('/')}/{rel}" if prefix else rel
        name = safe_filename(PurePosixPath(rel).name)
        date, year = _date_from_obo_id(name) if source.collection == "old_bailey" else (None, None)
        yield Item(source, name, (f"{base}/{quote(full)}",), title=f"{source.title}: {PurePosixPath(rel).stem}",
                   author=source.author, date=date, year=year or source.year, extra={"path": full})


def _plan_london_lives(source: Source, mirrors: Mapping[str, str], settings: HttpSettings, **_: Any) -> Iterator[Item]:
    base, spec = mirrors["london_lives"], source.spec
    catalogue = LazyCatalogue(f"{base}/{quote(spec['catalogue'])}", spec["catalogue_key"], settings) \
        if spec.get("catalogue") else None

    def dated(item: Item, session: requests.Session) -> Item:
        """The catalogue dates each document and names it (fetched once, and only if something is missing)."""
        row = catalogue.rows(session).get(PurePosixPath(item.name).stem.split("_")[0])
        if not row:
            return replace(item, resolve=None)
        date = (row.get(spec.get("catalogue_date", "")) or "").strip() or None
        title = spec.get("catalogue_title")
        return replace(item, date=date, year=_year_of(date), resolve=None,
                       title=re.sub(r"\{(\w+)\}", lambda m: (row.get(m.group(1)) or "").strip(), title)
                       if title else item.title)

    for item in _plan_files(source, base, spec["files"], spec.get("dir", "")):
        yield replace(item, resolve=functools.partial(dated, item)) if catalogue else item


def _plan_url(source: Source, mirrors: Mapping[str, str], **_: Any) -> Iterator[Item]:
    if source.spec.get("paths"):
        yield from _plan_files(source, mirrors[source.spec["base"]], source.spec["paths"])
        return
    for url in source.spec["urls"]:
        last = unquote(PurePosixPath(urlsplit(url).path).name) or urlsplit(url).netloc
        yield Item(source, safe_filename(last), (url,), title=source.title, author=source.author,
                   year=source.year, date=str(source.year) if source.year else None)


def _plan_local(source: Source, registry_dir: Optional[Path] = None, **_: Any) -> Iterator[Item]:
    root = Path(source.spec["path"]).expanduser()
    if not root.is_absolute() and registry_dir is not None:
        root = registry_dir / root
    if not root.exists():
        raise PlanError(f"local source folder {root} does not exist")
    files = [root] if root.is_file() else sorted(p for p in root.rglob(source.spec.get("pattern", "*")) if p.is_file())
    for path in files:
        yield Item(source, safe_filename(path.name), local_path=path, title=f"{source.title}: {path.stem}",
                   author=source.author, year=source.year, date=str(source.year) if source.year else None)


PLANNERS: dict[str, Callable[..., Iterator[Item]]] = {
    "gutenberg": _plan_gutenberg, "internet_archive": _plan_ia, "internet_archive_search": _plan_ia_search,
    "old_bailey": _plan_old_bailey, "london_lives": _plan_london_lives, "url": _plan_url, "local": _plan_local,
}


def plan_source(source: Source, *, mirrors: Mapping[str, str], settings: HttpSettings,
                session: requests.Session, registry_dir: Optional[Path] = None) -> list[Item]:
    """The items of one source. Raises PlanError when a search or listing fails."""
    items = list(PLANNERS[source.kind](source, mirrors=mirrors, settings=settings, session=session,
                                       registry_dir=registry_dir))
    names: dict[str, str] = {}
    for item in items:  # two remote names that sanitise alike must not overwrite each other
        if item.name in names:
            raise PlanError(f"{source.id}: two items share the local name {item.name!r}")
        names[item.name] = item.key
    return items
