"""The sources registry (02_data_collection/data_sources.json): loading, validation, mirrors.

Each entry names one source: `id`, `kind`, what to fetch (kind-specific keys), `date_range`,
`licence`, `enabled`, and what it yields: document `doc_kind` (london_llm.tags.KINDS) and file
`format` (README "Source downloads"). Remote entries fetch from a named base URL ("mirror") that a
flag or an environment variable can point elsewhere, so the stage can run against any copy.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from london_llm.errors import LondonLLMError
from london_llm.tags import KINDS as DOC_KINDS

REGISTRY_FORMAT_VERSION = 1

SOURCE_KINDS = ("gutenberg", "gutenberg_catalogue", "internet_archive", "internet_archive_search", "old_bailey",
                "london_lives", "bulk_archive", "url", "local")

FORMATS = ("gutenberg_txt", "oldbailey_tei", "oldbailey_api_json", "ordinary_txt", "londonlives_txt",
           "londonlives_tsv", "londonlives_xml", "standardebooks_xhtml", "eebo_tei", "ia_djvu_txt", "plain_txt")

# The collection a format comes from (the `source` field of a cleaned document).
COLLECTION_OF_FORMAT = {
    "gutenberg_txt": "gutenberg", "oldbailey_tei": "old_bailey", "oldbailey_api_json": "old_bailey",
    "ordinary_txt": "old_bailey", "londonlives_txt": "london_lives", "londonlives_tsv": "london_lives",
    "londonlives_xml": "london_lives", "standardebooks_xhtml": "standard_ebooks", "eebo_tei": "eebo_tcp",
    "ia_djvu_txt": "internet_archive", "plain_txt": "other",
}

OLD_BAILEY_SERIES = ("sessionsPapers", "ordinarysAccounts", "ordinarys_text", "api")


@dataclass(frozen=True)
class Mirror:
    name: str
    default: str
    what: str

    @property
    def env(self) -> str:
        return f"LONDON_LLM_{self.name.upper()}_MIRROR"

    @property
    def flag(self) -> str:
        return f"--{self.name.replace('_', '-')}-mirror"


# Base URLs of the real services. Paths under each follow the service's own layout (FORMATS.md).
MIRRORS: dict[str, Mirror] = {m.name: m for m in (
    Mirror("gutenberg", "https://www.gutenberg.org",
           "Project Gutenberg: /cache/epub/N/pgN.txt, /files/N/N-0.txt, -8.txt, N.txt"),
    Mirror("internet_archive", "https://archive.org",
           "Internet Archive: /advancedsearch.php, /metadata/ID, /download/ID/FILE"),
    Mirror("old_bailey",
           "https://raw.githubusercontent.com/wszfln/Old-Bailey-Online-and-Visual-Analytics-Variant-A1-"
           "Crime-Types-Trends/9375fffc88b59ac85a6f8af543a159570ec9c41a/data",
           "Old Bailey TEI XML, OBO_XML_7-2 layout: sessionsPapers/ID.xml, ordinarysAccounts/ID.xml"),
    Mirror("old_bailey_api", "https://www.dhi.ac.uk/api-proto/view",
           "Old Bailey DHI API: oldbailey_record?..., oldbailey_record_single?idkey=ID"),
    Mirror("old_bailey_text",
           "https://raw.githubusercontent.com/sharonhoward/oldbaileyonline/765072b61457827ca1af1fd61a844ceef3e077a7/ordinarys",
           "Ordinary's Accounts as plain text: oa_txt/ID.txt"),
    Mirror("london_lives", "https://raw.githubusercontent.com/sharonhoward",
           "London Lives datasets (Sharon Howard): REPO/COMMIT/PATH"),
    Mirror("london_lives_site", "https://www.londonlives.org",
           "London Lives XML of one page or document: browse.jsp?div=ID&xml=yes"),
    Mirror("github_raw", "https://raw.githubusercontent.com",
           "raw files of public GitHub repositories: OWNER/REPO/COMMIT/PATH"),
    Mirror("github", "https://github.com",
           "GitHub repository archives: OWNER/REPO/archive/COMMIT.zip"),
    Mirror("figshare", "https://api.figshare.com/v2",
           "Figshare API (University of Sheffield ORDA deposits): articles/ID/files?page=N&page_size=M"),
)}


class RegistryError(LondonLLMError, ValueError):
    """The registry file is missing, not JSON, or an entry is invalid (the message names it)."""


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    title: str
    licence: str
    enabled: bool
    doc_kind: str
    format: str
    date_range: tuple[int, int]
    collection: str
    author: Optional[str] = None
    year: Optional[int] = None
    spec: Mapping[str, Any] = field(default_factory=dict)  # the kind-specific keys (what to fetch)

    @property
    def route(self) -> str:
        """How the source is fetched: `bulk` (one archive, read in place), `api` (record by record from a
        service's API), `files` (named files), or `from-dir` (a deposit only the user can download)."""
        spec = self.spec
        if self.kind == "bulk_archive":
            return "bulk" if any(spec.get(k) for k in ("figshare_article", "urls", "paths")) else "from-dir"
        if (self.kind == "old_bailey" and spec.get("series") == "api") or (self.kind == "london_lives"
                                                                        and spec.get("pages")):
            return "api"
        return "files"

    def summary(self) -> str:
        what = {
            "gutenberg": lambda s: f"ebook #{s['ebook']}",
            "gutenberg_catalogue": lambda s: (f"{len(s['ebooks'])} ebook(s) from the catalogue" if s.get("ebooks")
                                              else "catalogue query " + ", ".join(
                                                  f"{k}={s[k]}" for k in ("subjects", "authors", "author_years")
                                                  if s.get(k)) + f" (max {s.get('max_items', 100)})"),
            "bulk_archive": lambda s: (f"figshare article {s['figshare_article']} ({', '.join(s.get('files') or ['*.zip'])})"
                                       if s.get("figshare_article") else
                                       f"{len(s.get('urls') or s.get('paths'))} archive(s)"
                                       if s.get("urls") or s.get("paths") else
                                       f"your download of {', '.join(s['files'])} (--from-dir)")
                                      + f", members {', '.join(s.get('members') or ['*'])}",
            "internet_archive": lambda s: f"{len(s['identifiers'])} item(s)",
            "internet_archive_search": lambda s: f"search {s['query']!r} (max {s.get('max_items', 50)})",
            "old_bailey": lambda s: (f"{s['series']}: " + (f"{len(s['ids'])} id(s)" if s.get("ids")
                                                           else f"search {s.get('api_search')}")),
            "london_lives": lambda s: (f"{len(s['files'])} file(s)" if s.get("files")
                                       else f"{len(s['pages'])} page(s) by the XML API"),
            "url": lambda s: f"{len(s.get('urls') or s.get('paths') or [])} URL(s)",
            "local": lambda s: f"{s['path']} ({s.get('pattern', '*')})",
        }[self.kind](self.spec)
        return what


_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
_COMMON = {"id", "kind", "title", "author", "year", "licence", "enabled", "doc_kind", "format",
           "date_range", "collection", "description", "notes"}
_SPEC_KEYS = {
    "gutenberg": ({"ebook"}, {"variants"}),
    "gutenberg_catalogue": (set(), {"ebooks", "subjects", "authors", "author_years", "languages", "max_items",
                                    "exclude", "variants"}),
    "bulk_archive": (set(), {"figshare_article", "files", "urls", "base", "paths", "members", "catalogue",
                             "catalogue_key", "catalogue_date", "catalogue_title"}),
    "internet_archive": ({"identifiers"}, set()),
    "internet_archive_search": ({"query"}, {"max_items", "rows", "sort"}),
    "old_bailey": ({"series"}, {"ids", "api_search", "max_items"}),
    "london_lives": (set(), {"files", "pages", "dir", "catalogue", "catalogue_key", "catalogue_date",
                             "catalogue_title"}),
    "url": (set(), {"urls", "base", "paths"}),
    "local": ({"path"}, {"pattern"}),
}


def _problem(where: str, message: str) -> RegistryError:
    return RegistryError(f"{where}: {message}")


def parse_source(entry: Mapping[str, Any], where: str) -> Source:
    if not isinstance(entry, Mapping):
        raise _problem(where, "each source must be a JSON object")
    sid = entry.get("id")
    if not isinstance(sid, str) or not _ID.match(sid):
        raise _problem(where, f"id {sid!r} must be lower-case letters, digits, '_', '.', '-' (it names a folder)")
    where = f"{where} ({sid})"
    kind = entry.get("kind")
    if kind not in SOURCE_KINDS:
        raise _problem(where, f"kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    required, optional = _SPEC_KEYS[kind]
    unknown = set(entry) - _COMMON - required - optional
    if unknown:
        raise _problem(where, f"unknown key(s) for kind {kind}: {', '.join(sorted(unknown))}")
    missing = [k for k in ("title", "licence", "doc_kind", "format", "date_range", *sorted(required))
               if k not in entry]
    if missing:
        raise _problem(where, f"missing key(s): {', '.join(missing)}")
    if entry["doc_kind"] not in DOC_KINDS:
        raise _problem(where, f"doc_kind {entry['doc_kind']!r} is not one of {', '.join(DOC_KINDS)}")
    if entry["format"] not in FORMATS:
        raise _problem(where, f"format {entry['format']!r} is not one of {', '.join(FORMATS)}")
    dr = entry["date_range"]
    if (not isinstance(dr, list) or len(dr) != 2 or not all(isinstance(y, int) for y in dr) or dr[0] > dr[1]):
        raise _problem(where, f"date_range must be [first_year, last_year], not {dr!r}")
    year = entry.get("year")
    if year is not None and not isinstance(year, int):
        raise _problem(where, f"year must be an integer, not {year!r}")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _problem(where, "enabled must be true or false")
    spec = {k: entry[k] for k in entry if k in required | optional}
    _check_spec(kind, spec, where)
    return Source(id=sid, kind=kind, title=str(entry["title"]), licence=str(entry["licence"]), enabled=enabled,
                  doc_kind=entry["doc_kind"], format=entry["format"], date_range=(dr[0], dr[1]),
                  collection=str(entry.get("collection") or COLLECTION_OF_FORMAT[entry["format"]]),
                  author=entry.get("author"), year=year, spec=spec)


def _str_list(spec: Mapping[str, Any], key: str, where: str) -> None:
    value = spec.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _problem(where, f"{key} must be a non-empty list of strings")


def _check_urls_or_paths(spec: Mapping[str, Any], where: str) -> None:
    """The two ways a remote file is named (kinds url and bulk_archive): full URLs, or paths under a mirror."""
    if spec.get("urls"):
        _str_list(spec, "urls", where)
        if not all(u.startswith(("http://", "https://")) for u in spec["urls"]):
            raise _problem(where, "urls must be http(s) URLs")
    if spec.get("paths"):
        _str_list(spec, "paths", where)
        if spec.get("base") not in MIRRORS:
            raise _problem(where, f"paths need a base, one of {', '.join(MIRRORS)}")


_LL_ID = re.compile(r"^[A-Za-z]{2,12}[A-Za-z0-9_]{1,40}$")


def _check_spec(kind: str, spec: Mapping[str, Any], where: str) -> None:
    if kind == "gutenberg":
        if not isinstance(spec["ebook"], int) or spec["ebook"] <= 0:
            raise _problem(where, f"ebook must be a positive Gutenberg ebook number, not {spec['ebook']!r}")
    elif kind == "gutenberg_catalogue":
        if spec.get("ebooks") is not None and (not isinstance(spec["ebooks"], list) or not spec["ebooks"] or not all(
                isinstance(n, int) and n > 0 for n in spec["ebooks"])):
            raise _problem(where, "ebooks must be a non-empty list of positive Gutenberg ebook numbers")
        if not any(spec.get(k) for k in ("ebooks", "subjects", "authors", "author_years")):
            raise _problem(where, "give ebooks (a list), or a catalogue query: subjects, authors and/or author_years")
        for key in ("subjects", "authors", "languages"):
            if spec.get(key) is not None:
                _str_list(spec, key, where)
        years = spec.get("author_years")
        if years is not None and (not isinstance(years, list) or len(years) != 2 or not all(
                isinstance(y, int) for y in years) or years[0] > years[1]):
            raise _problem(where, f"author_years must be [first_year, last_year], not {years!r}")
    elif kind == "bulk_archive":
        ways = [k for k in ("figshare_article", "urls", "paths") if spec.get(k)]
        if len(ways) > 1 or (not ways and not spec.get("files")):
            raise _problem(where, "give exactly one of figshare_article (a deposit's article id), urls, or base and "
                                  "paths; or only files (the deposit's file names) for a deposit you download "
                                  "yourself and import with --from-dir")
        if spec.get("figshare_article") is not None and (not isinstance(spec["figshare_article"], int)
                                                         or spec["figshare_article"] <= 0):
            raise _problem(where, "figshare_article must be a positive article id")
        _check_urls_or_paths(spec, where)
        for key in ("files", "members"):
            if spec.get(key) is not None:
                _str_list(spec, key, where)
        if spec.get("catalogue") and not spec.get("catalogue_key"):
            raise _problem(where, "a catalogue needs catalogue_key (the column matching the member names)")
    elif kind == "internet_archive":
        _str_list(spec, "identifiers", where)
    elif kind == "internet_archive_search":
        if not isinstance(spec["query"], str) or not spec["query"].strip():
            raise _problem(where, "query must be a non-empty advanced-search query")
    elif kind == "old_bailey":
        if spec["series"] not in OLD_BAILEY_SERIES:
            raise _problem(where, f"series must be one of {', '.join(OLD_BAILEY_SERIES)}")
        if spec["series"] == "api" and not (spec.get("ids") or isinstance(spec.get("api_search"), dict)):
            raise _problem(where, "series 'api' needs ids (record idkeys) or api_search (query parameters)")
        if spec["series"] != "api":
            _str_list(spec, "ids", where)
        if spec.get("ids"):
            _str_list(spec, "ids", where)
    elif kind == "london_lives":
        if bool(spec.get("files")) == bool(spec.get("pages")):
            raise _problem(where, "give either files (dataset paths) or pages (London Lives ids, for the site's XML view)")
        _str_list(spec, "files" if spec.get("files") else "pages", where)
        if spec.get("pages") and not all(_LL_ID.match(p) for p in spec["pages"]):
            raise _problem(where, "pages must be London Lives ids (letters and digits, e.g. WCCDRV369000052)")
        if spec.get("catalogue") and not spec.get("catalogue_key"):
            raise _problem(where, "a catalogue needs catalogue_key (the column matching the file names)")
    elif kind == "url":
        if not (spec.get("urls") or spec.get("paths")):
            raise _problem(where, "give urls, or base and paths")
        _check_urls_or_paths(spec, where)
    for key in ("files", "paths", "ids", "catalogue"):
        for value in ([spec[key]] if isinstance(spec.get(key), str) else spec.get(key) or ()):
            if value.startswith("/") or ".." in value.split("/"):
                raise _problem(where, f"{key} entry {value!r} must be a relative path without '..'")


def load_registry(path: Path | str) -> list[Source]:
    """All sources in the registry file, validated. Raises RegistryError naming the problem."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: sources registry not found (pass --registry FILE)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{path}: not valid UTF-8 JSON ({exc}); fix the file or restore it from git") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), list):
        raise RegistryError(f"{path}: expected an object with a 'sources' list")
    version = raw.get("format_version")
    if version != REGISTRY_FORMAT_VERSION:
        raise RegistryError(f"{path}: format_version {version!r}, this code reads {REGISTRY_FORMAT_VERSION}")
    sources = [parse_source(e, f"{path.name} sources[{i}]") for i, e in enumerate(raw["sources"])]
    seen: set[str] = set()
    for s in sources:
        if s.id in seen:
            raise RegistryError(f"{path}: source id {s.id!r} appears twice")
        seen.add(s.id)
    return sources


def select_sources(sources: Iterable[Source], wanted: Optional[Iterable[str]] = None) -> list[Source]:
    """Enabled sources, or those named in `wanted` by id or by kind/collection (named ones even if disabled)."""
    sources = list(sources)
    if not wanted:
        return [s for s in sources if s.enabled]
    wanted = list(wanted)
    chosen, unknown = [], []
    for name in wanted:
        hits = [s for s in sources if s.id == name]
        if not hits:
            hits = [s for s in sources if s.enabled and name in (s.kind, s.collection)]
        if not hits:
            unknown.append(name)
        chosen.extend(h for h in hits if h not in chosen)
    if unknown:
        raise RegistryError(f"unknown source(s) {', '.join(unknown)}; see --list-sources for ids and kinds")
    return chosen


def resolve_mirrors(overrides: Optional[Mapping[str, Optional[str]]] = None,
                    environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Base URL per mirror: the flag if given, else $LONDON_LLM_<NAME>_MIRROR, else the real service."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    out = {}
    for name, mirror in MIRRORS.items():
        value = overrides.get(name) or environ.get(mirror.env) or mirror.default
        if not value.startswith(("http://", "https://")):
            raise RegistryError(f"{mirror.flag} / {mirror.env}: {value!r} is not an http(s) URL")
        out[name] = value.rstrip("/")
    return out


DEPOSIT_FILES_ENV = "LONDON_LLM_DEPOSIT_FILES"


def override_deposit_files(sources: Iterable[Source], patterns: Optional[Iterable[str]] = None,
                           environ: Optional[Mapping[str, str]] = None) -> list[Source]:
    """The sources with the `files` patterns of every bulk deposit (figshare_article, or a deposit for
    --from-dir) replaced by `patterns` (--deposit-files), else by $LONDON_LLM_DEPOSIT_FILES
    (comma-separated), else as registered. The registry's names were not checked against the live
    deposit (no network where they were written): this is the setting to correct them without
    editing the registry."""
    environ = os.environ if environ is None else environ
    chosen = [p.strip() for p in (patterns or environ.get(DEPOSIT_FILES_ENV, "").split(",")) if p and p.strip()]
    out = []
    for source in sources:
        if chosen and source.kind == "bulk_archive" and not (source.spec.get("urls") or source.spec.get("paths")):
            source = replace(source, spec={**source.spec, "files": chosen})
        out.append(source)
    return out
