"""What each source kind fetches: registry entries become download items.

Every item has a local file name fixed before anything is fetched (so a rerun can see it is
already complete without asking the server), the candidate URLs in the order to try, and the
metadata its sidecar records. Items whose URL is only known after an API call (Internet Archive:
the metadata API names the DjVuTXT file and publishes its md5 and size) carry a `resolve` step
that runs in the worker.
"""
from __future__ import annotations

import csv
import fnmatch
import functools
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import quote, unquote, urlencode, urlsplit

import requests

from london_llm.collect.api import LazyCatalogue, NothingToFetch, PlanError, get_json, get_parsed
from london_llm.collect.http import HttpSettings
from london_llm.collect.names import safe_filename
from london_llm.collect.registry import Source

MAX_SEARCH_ITEMS = 10_000  # input bound: no search expands into more items than this
MAX_API_RECORDS = 300_000  # the whole Old Bailey by its API (197,745 trials, front matter, accounts)
MAX_ARCHIVE_FILES = 100  # a bulk deposit lists a handful of files


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


def _year_windows(query: dict) -> list[dict]:
    """The search split into one query per year: the API is an Elasticsearch index, whose paging by
    `from` stops at 10,000 hits (its result window), and the whole collection has 197,745 trials."""
    try:
        first, last = int(query["year_gte"]), int(query["year_lte"])
    except (KeyError, TypeError, ValueError):
        return [query]
    if last <= first:
        return [query]
    return [{**query, "year_gte": year, "year_lte": year} for year in range(first, last + 1)]


def _old_bailey_api_ids(source: Source, base: str, settings: HttpSettings,
                        session: requests.Session) -> list[str]:
    """Record ids from the DHI search API: one window a year (see _year_windows), each paged by
    `from` (10 a page)."""
    limit = min(int(source.spec.get("max_items", 100)), MAX_API_RECORDS)
    ids: list[str] = []
    seen: set[str] = set()
    for query in _year_windows(dict(source.spec["api_search"])):
        start = 0
        while len(ids) < limit:
            url = f"{base}/oldbailey_record?{urlencode({**query, 'from': start})}"
            answer = _scalar(get_json(session, url, settings))
            hits = _scalar(answer.get("hits")) if isinstance(answer, dict) else None
            if not isinstance(hits, dict) or not isinstance(hits.get("hits"), list):
                raise PlanError(f"Old Bailey search answered without hits.hits: {url}")
            sources = [_scalar(h.get("_source")) for h in hits["hits"] if isinstance(h, dict)]
            page = [_scalar(src.get("idkey")) for src in sources if isinstance(src, dict)]
            page = [i for i in dict.fromkeys(page) if isinstance(i, str) and i not in seen]
            page = page[: limit - len(ids)]
            ids.extend(page)
            seen.update(page)
            total = _scalar(hits.get("total"))
            total = _scalar(total.get("value")) if isinstance(total, dict) else total
            start += len(hits["hits"])
            if not page or start >= int(total or 0):
                break
        if len(ids) >= limit:
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

    if spec.get("pages"):  # the site's XML of each page or document (FORMATS.md 5), one request each
        site = mirrors["london_lives_site"]
        for page in spec["pages"]:
            yield Item(source, safe_filename(f"{page}.xml"),
                       (f"{site}/browse.jsp?{urlencode({'div': page, 'xml': 'yes'})}",),
                       title=f"London Lives {page}", extra={"londonlives_id": page})
        return
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


# -- Gutenberg by catalogue (pg_catalog.csv, FORMATS.md 2.1) ---------------------------------------
_LIFE = re.compile(r"(?:(\d{3,4})\??)?\s*-\s*(?:(\d{3,4})\??)?\s*$")


def author_dates(author: str) -> tuple[str, Optional[int], Optional[int]]:
    """('Defoe, Daniel', 1661, 1731) from the catalogue's 'Defoe, Daniel, 1661?-1731'."""
    name, _, last = author.strip().rpartition(",")
    match = _LIFE.fullmatch(last.strip()) if name else None
    if not match or not any(match.groups()):
        return author.strip(), None, None
    born, died = (int(y) if y else None for y in match.groups())
    return name.strip(), born, died


def _floruit(born: Optional[int], died: Optional[int]) -> Optional[tuple[int, int]]:
    """The years an author could have written in: from age 15 to death (70 years when one end is unknown)."""
    if born is None and died is None:
        return None
    start = born + 15 if born is not None else died - 55
    return start, died if died is not None else born + 70


def catalogue_rows(data: bytes) -> list[dict]:
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))  # quoted fields hold newlines: a real CSV parser
    if "Text#" not in (reader.fieldnames or []):
        raise ValueError(f"not the Gutenberg catalogue (columns {str(reader.fieldnames)[:80]})")
    return list(reader)


def select_from_catalogue(rows: list[dict], spec: Mapping[str, Any]) -> list[dict]:
    """Catalogue rows chosen by `ebooks` (a list) or by the query: every given condition holds,
    any of a condition's values matches (subjects and bookshelves, author names: case-insensitive
    substrings; author_years: some author's writing life overlaps the range). Text in the chosen
    languages only (default English), ordered by ebook number."""
    wanted = set(spec.get("ebooks") or ())
    excluded = set(spec.get("exclude") or ())
    languages = {lang.lower() for lang in (spec.get("languages") or ["en"])}
    subjects = [x.lower() for x in spec.get("subjects") or ()]
    authors = [x.lower() for x in spec.get("authors") or ()]
    years = spec.get("author_years")
    chosen = []
    for row in rows:
        number = str(row.get("Text#") or "").strip()
        if not number.isdigit() or int(number) in excluded or (row.get("Type") or "Text") != "Text":
            continue
        if wanted:
            if int(number) in wanted:
                chosen.append(row)
            continue
        if not languages & {x.strip().lower() for x in (row.get("Language") or "").split(";")}:
            continue
        about = f"{row.get('Subjects') or ''}; {row.get('Bookshelves') or ''}".lower()
        if subjects and not any(x in about for x in subjects):
            continue
        people = [author_dates(a) for a in (row.get("Authors") or "").split(";") if a.strip()]
        if authors and not any(x in name.lower() for name, _, _ in people for x in authors):
            continue
        if years:
            lives = [_floruit(born, died) for _, born, died in people]
            if not any(life and life[0] <= years[1] and life[1] >= years[0] for life in lives):
                continue
        chosen.append(row)
    chosen.sort(key=lambda r: int(r["Text#"]))
    return chosen


def _plan_gutenberg_catalogue(source: Source, mirrors: Mapping[str, str], settings: HttpSettings,
                              session: requests.Session, **_: Any) -> Iterator[Item]:
    base = mirrors["gutenberg"]
    rows = get_parsed(session, f"{base}/cache/epub/feeds/pg_catalog.csv", settings, catalogue_rows,
                      accept="text/csv")
    limit = min(int(source.spec.get("max_items", 100)), MAX_SEARCH_ITEMS)
    chosen = select_from_catalogue(rows, source.spec)
    missing = set(source.spec.get("ebooks") or ()) - {int(r["Text#"]) for r in chosen}
    if missing:
        raise PlanError(f"ebook(s) {', '.join(map(str, sorted(missing)))} not in the Gutenberg catalogue")
    for row in chosen[:limit]:
        number = int(row["Text#"])
        people = [author_dates(a) for a in (row.get("Authors") or "").split(";") if a.strip()]
        title = " ".join((row.get("Title") or "").split()) or None  # title and subtitle on two lines
        yield Item(source, f"pg{number}.txt", gutenberg_urls(base, number, source.spec.get("variants")),
                   title=title, author=people[0][0] if people else None,
                   extra={"ebook": number, "subjects": row.get("Subjects") or None,
                          "bookshelves": row.get("Bookshelves") or None, "issued": row.get("Issued") or None,
                          "author_birth": people[0][1] if people else None,
                          "author_death": people[0][2] if people else None})


# -- bulk archives (the Old Bailey's OBO_XML deposit, repository archives) ---------------------------
def _archive_extra(source: Source) -> dict:
    spec = source.spec
    extra = {"archive": "zip", "members": list(spec.get("members") or ["*"])}
    for key in ("catalogue", "catalogue_key", "catalogue_date", "catalogue_title"):
        if spec.get(key):
            extra[key] = spec[key]
    return extra


def archive_item(source: Source, name: str, **fields: Any) -> Item:
    """The download item of one bulk archive of `source`: what its sidecar records, online or imported
    (cleaning.importer), so both are cleaned the same way (cleaning.archive)."""
    return Item(source, safe_filename(name), title=source.title, author=source.author,
                extra={**_archive_extra(source), **fields.pop("extra", {})}, **fields)


def _plan_bulk_archive(source: Source, mirrors: Mapping[str, str], settings: HttpSettings,
                       session: requests.Session, **_: Any) -> Iterator[Item]:
    spec = source.spec
    if spec.get("urls") or spec.get("paths"):
        urls = spec.get("urls") or [f"{mirrors[spec['base']]}/{quote(p)}" for p in spec["paths"]]
        for url in urls:
            name = safe_filename(unquote(PurePosixPath(urlsplit(url).path).name) or "archive.zip")
            yield archive_item(source, name, urls=(url,))
        return
    if not spec.get("figshare_article"):
        raise PlanError(f"{source.id} is a deposit you download yourself ({', '.join(spec['files'])}): put the "
                        "file(s) in a folder and run with --from-dir FOLDER (read in place, as a download is)")
    article = spec["figshare_article"]
    base = mirrors["figshare"]
    patterns = spec.get("files") or ["*.zip"]
    files: list[dict] = []
    page = 1
    while True:  # the files API pages (page_size at most 1000; deposits list a handful)
        url = f"{base}/articles/{article}/files?{urlencode({'page': page, 'page_size': 100})}"
        answer = get_json(session, url, settings)
        if not isinstance(answer, list):
            raise PlanError(f"figshare answered without a file list: {url}")
        files.extend(f for f in answer if isinstance(f, dict))
        if len(answer) < 100 or len(files) >= MAX_ARCHIVE_FILES:
            break
        page += 1
    chosen = [f for f in files if isinstance(f.get("name"), str) and not f.get("is_link_only")
              and any(fnmatch.fnmatchcase(f["name"], p) for p in patterns)]
    if not chosen:
        raise PlanError(f"figshare article {article} has no file matching {', '.join(patterns)} "
                        f"(it lists {', '.join(str(f.get('name')) for f in files[:10]) or 'nothing'}); "
                        "name the right ones with --deposit-files PATTERN ... or $LONDON_LLM_DEPOSIT_FILES")
    for f in chosen:
        url = str(f.get("download_url") or "")
        if not url.startswith(("http://", "https://")):
            raise PlanError(f"figshare file {f.get('name')!r} has no download_url")
        size = f.get("size")
        yield archive_item(source, f["name"], urls=(url,),
                           expected_size=size if isinstance(size, int) and size >= 0 else None,
                           expected_md5=(f.get("computed_md5") or f.get("supplied_md5") or None),
                           extra={"figshare_article": article, "figshare_file": f.get("id")},
                           first_contact=f"{base}/articles/")


PLANNERS: dict[str, Callable[..., Iterator[Item]]] = {
    "gutenberg": _plan_gutenberg, "gutenberg_catalogue": _plan_gutenberg_catalogue,
    "bulk_archive": _plan_bulk_archive, "internet_archive": _plan_ia, "internet_archive_search": _plan_ia_search,
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
