"""A document's year: one place, one order of routes, each documented (docs/data_cleaning.md).

Routes, first that answers wins; the winner is recorded as the document's `year_source`:
  metadata    the user's metadata file (`--metadata FILE`: CSV or JSON lines keyed by file name or
              ebook number) - the user's word beats every guess
  record      the record's own date as its parser read it (Old Bailey session id, a TSV's doc_date,
              the TEI header's date, a diary entry's <time>)
  registry    the download's sidecar: the registry's year for a registered source (written by the
              collector, or by the importer from the registry entry of the same ebook), or the date in
              a dated file name (session and account files)
  catalogue   the Gutenberg catalogue record (RDF, `pg<N>.rdf`): the source edition's imprint year
              (`marc260`) when it falls within the author's working life (a later edition's is not)
  text        the text's own title page and imprint ("LONDON: Printed for J. Roberts ... 1731",
              roman numerals "M DCC IV." too) or, for records, "in the Year of our Lord One Thousand
              Seven hundred and sixty"; for books only short display lines (title pages), never lines
              that describe a modern edition (Release Date, Produced, "this edition", reprinted,
              University, Press, Ltd ...), never a year after 1913 (those are editions' dates), and
              within the author's life when the catalogue gives it; the earliest such year wins.
A document none of them dates is undated: it is counted and listed in statistics.json, carries no
period tag, and `--require_year` drops it.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Mapping, Optional

from ..errors import LondonLLMError
from .document import year_of

ROUTES = ("metadata", "record", "registry", "catalogue", "text")
LATEST_TEXT_YEAR = 1913  # a title-page year after this is a modern edition's, never the text's
EARLIEST_YEAR = 1400
FRONT_CHARS = 60_000  # how far into a book its title pages are looked for
WORKING_LIFE = (10, 3)  # a text appears from 10 years after its author's birth to 3 after the death


class MetadataError(LondonLLMError, ValueError):
    pass


# --- the user's metadata file -------------------------------------------------------------------

MAX_METADATA_BYTES = 256 * 1024 * 1024  # read whole: a row a file, so far beyond any real collection's

_KEPT_COLUMNS = ("title", "author", "date", "licence", "license", "kind")
_KEY_COLUMNS = ("file", "filename", "file_name", "name", "path", "ebook", "ebook_no", "pg_ebook_no", "id")


def _metadata_keys(row: Mapping) -> list[str]:
    keys = []
    for col in _KEY_COLUMNS:
        value = row.get(col)
        if value not in (None, ""):
            value = str(value).strip()
            if col in ("file", "filename", "file_name", "path", "name"):
                value = value.replace("\\", "/")
                if "/" in value:  # a path inside a folder of your own texts (--add-texts) matches as well
                    keys.append(value.lstrip("./"))
                value = Path(value).name
            keys.append(value)
    return keys


def load_metadata(path: Path) -> dict[str, dict]:
    """{file name or ebook number: {"year": int, ...}} from a CSV (header row) or JSON-lines file.

    Each row names a `file` (a download's or the original file's name, or a path inside a folder of
    your own texts) and/or an `ebook` number, and gives `year` (or a `date` holding one); other
    columns (title, author; for your own texts also licence and kind) are kept. A row may leave the
    year out when it gives one of those (the text's own title page dates it then).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_METADATA_BYTES:
            raise MetadataError(f"--metadata {path}: {size:,} bytes, over the {MAX_METADATA_BYTES:,} a metadata file "
                                "may have; keep one row per file you import (file, year, title, ...)")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"--metadata {path}: unreadable ({exc})") from None
    rows: list[dict] = []
    stripped = text.lstrip()
    if stripped.startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MetadataError(f"--metadata {path}: line {number} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise MetadataError(f"--metadata {path}: line {number} is not a JSON object")
            rows.append(row)
    else:
        dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
        rows = [dict(r) for r in csv.DictReader(io.StringIO(text), dialect=dialect)]
    index: dict[str, dict] = {}
    for number, row in enumerate(rows, 1):
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        keys = _metadata_keys(row)
        year = year_of(row.get("year")) or year_of(row.get("date"))
        if not keys:
            raise MetadataError(f"--metadata {path}: row {number} names no file or ebook (columns: "
                                f"{', '.join(_KEY_COLUMNS)})")
        kept = {k: v for k, v in row.items() if k in _KEPT_COLUMNS and v not in (None, "")}
        if year is None and not set(kept) - {"date"}:
            raise MetadataError(f"--metadata {path}: row {number} ({keys[0]}) has no year (nor a title, author, "
                                "licence or kind)")
        entry = {**kept, "year": year}
        for key in keys:
            index[key] = entry
    if not index:
        raise MetadataError(f"--metadata {path}: no rows")
    return index


def metadata_entry(index: Mapping[str, dict], meta: dict, path_name: str) -> Optional[dict]:
    """The user's entry for a download: by its path inside a folder of your own texts, its file name, its
    original file's name, or its ebook."""
    if not index:
        return None
    candidates = [str(meta.get("path") or ""), path_name, Path(str(meta.get("origin") or "")).name,
                  Path(str(meta.get("url") or "")).name]
    if meta.get("ebook") not in (None, ""):
        candidates.append(str(meta["ebook"]))
    for key in candidates:
        if key and key in index:
            return index[key]
    return None


# --- the Gutenberg catalogue record -------------------------------------------------------------

_PG = "{http://www.gutenberg.org/2009/pgterms/}"
_DC = "{http://purl.org/dc/terms/}"
_MARCREL = "{http://id.loc.gov/vocabulary/relators/}"


def read_catalogue_record(data: bytes) -> dict:
    """The fields of a Gutenberg RDF record the cleaning uses (parsed by element name: real records
    come in any element order): title, creators and other contributors with roles and life dates,
    the source edition's imprint (`marc260`), and the e-book's release date (`issued`, never the
    text's year)."""
    from lxml import etree

    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    ebook = root.find(f"{_PG}ebook")
    if ebook is None:
        raise ValueError("no pgterms:ebook element")

    def agents(role_el) -> list[dict]:
        out = []
        for agent in role_el.iter(f"{_PG}agent"):
            out.append({"name": agent.findtext(f"{_PG}name"),
                        "birth": year_of(agent.findtext(f"{_PG}birthdate")),
                        "death": year_of(agent.findtext(f"{_PG}deathdate"))})
        return out

    creators, contributors = [], []
    for child in ebook:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == f"{_DC}creator":
            creators.extend(agents(child))
        elif tag.startswith(_MARCREL):
            contributors.extend({**a, "role": tag[len(_MARCREL):]} for a in agents(child))
    about = ebook.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about") or ""
    return {"ebook": about.rsplit("/", 1)[-1] or None, "title": (ebook.findtext(f"{_DC}title") or "").strip() or None,
            "creators": creators, "contributors": contributors,
            "marc260": " ".join((ebook.findtext(f"{_PG}marc260") or "").split()) or None,
            "issued": ebook.findtext(f"{_DC}issued")}


def lifetime(catalogue: Optional[Mapping]) -> Optional[tuple[int, int]]:
    """(earliest, latest) year the primary creator can have written in, from the catalogue."""
    if not catalogue:
        return None
    for creator in catalogue.get("creators") or []:
        birth, death = creator.get("birth"), creator.get("death")
        if birth or death:
            lo = birth + WORKING_LIFE[0] if birth else (death - 80 if death else EARLIEST_YEAR)
            hi = death + WORKING_LIFE[1] if death else birth + 90
            return lo, hi
    return None


def catalogue_year(catalogue: Optional[Mapping]) -> Optional[int]:
    """The source edition's imprint year, when it lies within the author's working life."""
    if not catalogue or not catalogue.get("marc260"):
        return None
    span = lifetime(catalogue)
    if span is None:
        return None  # without life dates an imprint year may be any later edition's
    years = [int(y) for y in re.findall(r"(?<!\d)(1[4-9]\d\d)(?!\d)", catalogue["marc260"])]
    fitting = [y for y in years if span[0] <= y <= span[1]]
    return min(fitting) if fitting else None


# --- the text's own title page or statement of date ---------------------------------------------

_ROMAN = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
# M DCC IV. / MDCCXXXI / M.DC.LXVI. : capital numerals only, spaces or dots between groups.
_ROMAN_YEAR = re.compile(r"(?<![A-Za-z])(M[\s.]{0,2}(?:[DCLXVI][\s.]{0,2}){1,12})(?![A-Za-z])")
_ARABIC_YEAR = re.compile(r"(?<![\d,.£$])(1[4-9]\d\d)(?![\d,])")
_STRONG_CUE = re.compile(r"\b(?:printed|imprinted|published|sold\s+(?:by|at)|anno\b|in\s+the\s+year)", re.I)
_IMPRINT_CUE = re.compile(r"\b(?:printed|imprinted|published|sold\s+(?:by|at)|anno\b|in\s+the\s+year|"
                          r"london\b\W|westminster\b\W|edinburgh|dublin|oxford|cambridge|bristol)", re.I)
# What a modern edition's title page or colophon says (the year beside it is the edition's).
_MODERN = re.compile(r"release\s+date|posting\s+date|produced|transcribed|e-?text|e-?book|gutenberg|"
                     r"this\s+edition|edition\s+published|present\s+edition|reprint|first\s+published|"
                     r"university|college|press\b|library|ltd\b|limited|\bco\.|company|& co|society|copyright|"
                     r"printed\s+in\s+great\s+britain|edited|introduction|notes\s+by|ph\.\s?d|professor|"
                     r"publication\s+number|facsimile|www\.|http|\bsons\b|new\s+york|\bld\b\.?|\bbros\b|"
                     r"january|february|march|april|june|july|august|september|october|november|december",
                     re.I)  # a month: a dated letter or preface, not an imprint
_FOOTNOTE_START = re.compile(r"^\s*(?:\[\d+\]|\{\d+\w?\}|\*+\s|\d+\s|footnote)", re.I)
_YEAR_ALONE = re.compile(r"^\W*(?:1[4-9]\d\d|M[\s.]{0,2}(?:[DCLXVI][\s.]{0,2}){1,12})\W*$")
_DISPLAY_WIDTH = 66  # title-page lines are short; a wrapped prose paragraph runs to ~70-75


def roman_value(numeral: str) -> Optional[int]:
    letters = re.sub(r"[\s.]", "", numeral)
    if not letters or any(c not in _ROMAN for c in letters):
        return None
    total = 0
    for i, c in enumerate(letters):
        value = _ROMAN[c]
        total += -value if i + 1 < len(letters) and _ROMAN[letters[i + 1]] > value else value
    return total


def _years_in(text: str) -> list[int]:
    years = [int(y) for y in _ARABIC_YEAR.findall(text)]
    for match in _ROMAN_YEAR.finditer(text):
        value = roman_value(match.group(1))
        if value and EARLIEST_YEAR <= value <= LATEST_TEXT_YEAR:
            years.append(value)
    return years


def _blocks(text: str) -> list[str]:
    return [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def _is_display(block: str, width: int = _DISPLAY_WIDTH, max_lines: int = 8) -> bool:
    lines = [line.strip() for line in block.split("\n") if line.strip()]
    return 0 < len(lines) <= max_lines and max(len(line) for line in lines) <= width


def _imprint_years(block: str, cue_before: bool) -> list[int]:
    """Years of an imprint: every year of a block with a printing cue ("Printed for", "Sold by",
    "Anno"); otherwise (a place name, or a cue in the block before) only lines that are a cue line
    or just a year (figures or capital numerals)."""
    if _STRONG_CUE.search(block):
        return _years_in(block)
    years, cue = [], cue_before
    for line in block.split("\n"):
        has_cue = bool(_IMPRINT_CUE.search(line))
        cue = cue or has_cue
        if has_cue or (cue and _YEAR_ALONE.match(line)):
            years.extend(_years_in(line))
    return years


def _title_block(block: str) -> bool:
    """A block of a title page: short display lines, or a short imprint set wider (up to 4 lines)."""
    if _MODERN.search(block) or _FOOTNOTE_START.match(block):
        return False
    return _is_display(block) or (bool(_STRONG_CUE.search(block)) and _is_display(block, 80, 4))


def title_page_year(text: str, span: Optional[tuple[int, int]] = None) -> Optional[int]:
    """The earliest imprint year on the book's own title pages (see the module doc), or None."""
    found = []
    cue_before = False
    for block in _blocks(text[:FRONT_CHARS]):
        if not _title_block(block):
            cue_before = False
            continue
        found.extend(y for y in _imprint_years(block, cue_before) if EARLIEST_YEAR <= y <= LATEST_TEXT_YEAR
                     and (span is None or span[0] <= y <= span[1]))
        cue_before = bool(_IMPRINT_CUE.search(block))
    return min(found) if found else None


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
                 "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
                 "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
                 "eighty": 80, "ninety": 90}
_YEAR_OF_OUR_LORD = re.compile(r"(?:year\s+of\s+our\s+lord|anno\s+domini|in\s+the\s+year(?!\s+of\s+our))\s+((?:[a-z]+\b[\s,-]*){1,9})",
                               re.I)


def words_to_year(words: str) -> Optional[int]:
    """'One Thousand Seven hundred and sixty' -> 1760; 'seventeen hundred and fifty-nine' -> 1759."""
    total, current, seen = 0, 0, False
    for word in re.findall(r"[a-z]+", words.lower()):
        if word == "and":
            continue
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
            seen = True
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            break
    year = total + current
    return year if seen and EARLIEST_YEAR <= year <= LATEST_TEXT_YEAR else None


def record_year(text: str) -> Optional[int]:
    """A record's statement of its own date: 'in the Year of our Lord One Thousand Seven hundred and
    sixty' (words or figures), else the first year in figures in its opening lines."""
    head = text[:4000]
    for match in _YEAR_OF_OUR_LORD.finditer(head):
        year = words_to_year(match.group(1))
        if year:
            return year
        figures = _ARABIC_YEAR.match(match.group(1).strip())
        if figures:
            return int(figures.group(1))
    years = [y for y in _years_in(head[:1500]) if EARLIEST_YEAR <= y <= LATEST_TEXT_YEAR]
    return years[0] if years else None


BOOK_KINDS = ("book", "pamphlet", "other")


def resolve_year(*, text: str, kind: str, meta: Mapping, record_date=None, record_year_value=None,
                 metadata: Optional[Mapping] = None) -> tuple[Optional[int], Optional[str]]:
    """(year, route) by the routes in order (module doc); (None, None) when nothing dates the text."""
    if metadata and metadata.get("year"):
        return int(metadata["year"]), "metadata"
    year = record_year_value or year_of(record_date)
    if year:
        return year, "record"
    year = year_of(meta.get("year")) or year_of(meta.get("date"))
    if year:
        return year, "registry"
    catalogue = meta.get("catalogue")
    year = catalogue_year(catalogue)
    if year:
        return year, "catalogue"
    year = title_page_year(text, lifetime(catalogue)) if kind in BOOK_KINDS else record_year(text)
    if year:
        return year, "text"
    return None, None
