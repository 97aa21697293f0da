"""Import local folders laid out like ../shared/corpus into downloads/ with sidecars.

Each known folder of the shared corpus maps to a source id, format, document kind, licence and
(where the folder says) dates, so the data stage runs offline exactly as after a download.
Files are hard-linked when source and destination share a filesystem (no copy), otherwise
copied; either way a file appears under its final name only when complete, and its sidecar
is written last. A rerun skips items whose sidecar already records the same sha256.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .dating import read_catalogue_record
from .deposit_import import deposit_name, plan_deposits, write_deposit_sidecar
from .sidecar import SUFFIX, sidecar_path, write_sidecar

log = logging.getLogger(__name__)

PD = "public domain (Project Gutenberg)"
OBO = "CC BY-NC 4.0 (Old Bailey Online)"
BY_SA = "CC BY-SA 4.0"
CC0 = "CC0 1.0"

_EBOOK_NO = re.compile(r"\[E(?:Book|text) #(\d+)\]|EBook #(\d+)|eBook #(\d+)", re.I)
_DATE8 = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class FolderRule:
    pattern: str  # glob relative to the imported folder
    source_id: str
    fmt: str
    kind: str
    licence: str
    describe: Optional[Callable[[Path, "dict"], dict]] = None  # extra sidecar fields for one file


@dataclass
class ImportSummary:
    imported: int = 0
    skipped: int = 0  # already present with the same checksum
    sources: dict = field(default_factory=dict)
    unmapped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "skipped": self.skipped, "sources": self.sources,
                "unmapped": self.unmapped, "warnings": self.warnings}


def safe_name(name: str, limit: int = 150) -> str:
    """A file name safe on every filesystem, from any (possibly remote) string."""
    cleaned = _SAFE.sub("_", name).strip("._") or "item"
    if len(cleaned) > limit:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        cleaned = f"{cleaned[:limit - 11]}_{digest}"
    return cleaned


def _gutenberg(path: Path, ctx: dict) -> dict:
    """The ebook number (header, else manifest, else file name), the registry's year and title for it,
    and the catalogue record (pg<N>.rdf anywhere in the imported folder) when there is one. The
    year itself is decided by cleaning.dating (one place for the rules)."""
    with open(path, "rb") as fh:  # the header only: a book can be large
        head = fh.read(20_000).decode("latin-1")
    match = _EBOOK_NO.search(head)
    number = next((g for g in match.groups() if g), None) if match else None
    number = number or ctx.get("manifest_numbers", {}).get(path.name) or re.sub(r"\D.*", "", path.stem) or None
    out: dict = {"ebook": number, "url": f"https://www.gutenberg.org/ebooks/{number}" if number else None}
    registered = ctx.get("registry", {}).get(number or "")
    if registered:
        out.update({k: v for k, v in registered.items() if v is not None})
        if registered.get("year"):
            out["date"] = str(registered["year"])
    rdf = ctx.get("catalogue_files", {}).get(number or "")
    if rdf is not None:
        try:
            out["catalogue"] = read_catalogue_record(rdf.read_bytes())
        except (OSError, ValueError) as exc:  # lxml's XMLSyntaxError is a ValueError
            log.warning("unreadable catalogue record %s (%s); dating %s without it", rdf, exc, path.name)
    return out


def _from_date_in_name(path: Path, ctx: dict) -> dict:
    match = _DATE8.search(path.stem)
    if not match:
        return {}
    date = f"{match.group(1)}-{match.group(2)}-{match.group(3)}"
    return {"date": date, "year": int(match.group(1))}


def _coroners(path: Path, ctx: dict) -> dict:
    row = ctx.get("inquests", {}).get(path.stem.split("_")[0])
    if not row:
        ctx.setdefault("uncatalogued_inquests", []).append(path.name)
        return {}
    date = row.get("doc_date") or None
    return {"date": date, "year": int(date[:4]) if date and date[:4].isdigit() else None,
            "title": f"Coroner's inquisition: {row.get('the_deceased') or 'unknown'}, {row.get('parish') or ''}".strip(", "),
            "url": row.get("lonlives_url") or None}


def _obo_api(path: Path, ctx: dict) -> dict:
    match = re.match(r"t(\d{4})(\d{2})(\d{2})", path.stem)
    return {"date": f"{match.group(1)}-{match.group(2)}-{match.group(3)}", "year": int(match.group(1))} if match else {}


RULES = (
    FolderRule("gutenberg-london-books-rcdm-uga/texts/*.txt", "gutenberg_london_books", "gutenberg_txt", "book", PD, _gutenberg),
    FolderRule("gutenberg-18c-novels-dighums/texts/*.txt", "gutenberg_18c_novels", "gutenberg_txt", "book", PD, _gutenberg),
    FolderRule("gutenberg-gitenberg-format-variants/pg*/*.txt", "gutenberg_format_variants", "gutenberg_txt", "book", PD, _gutenberg),
    FolderRule("old-bailey-obo-xml-7.2/sessionsPapers/*.xml", "old_bailey_sessions", "oldbailey_tei", "trial", OBO, _from_date_in_name),
    FolderRule("old-bailey-obo-xml-7.2/ordinarysAccounts/*.xml", "old_bailey_ordinarys_accounts", "oldbailey_tei", "ordinary", OBO, _from_date_in_name),
    FolderRule("old-bailey-ordinarys-accounts-txt/oa_txt/*.txt", "ordinarys_accounts_txt", "ordinary_txt", "ordinary", BY_SA, _from_date_in_name),
    FolderRule("old-bailey-api-json-samples/*.json", "old_bailey_api", "oldbailey_api_json", "trial", OBO, _obo_api),
    FolderRule("old-bailey-api-json-samples/*.xml", "old_bailey_api", "oldbailey_tei", "trial", OBO, _obo_api),
    FolderRule("old-bailey-api-json-samples/t*.txt", "old_bailey_api", "plain_txt", "trial", OBO, _obo_api),
    FolderRule("london-lives-westminster-coroners-inquests/coroners_inquests/wa_inq_txt/*.txt", "london_lives_coroners_inquests", "londonlives_txt", "parish", BY_SA, _coroners),
    FolderRule("london-lives-pauper-examinations-removals/removal_orders/*_orders.tsv", "london_lives_removal_orders", "londonlives_tsv", "parish", BY_SA),
    FolderRule("standardebooks-pepys-diary/src/epub/text/*.xhtml", "standard_ebooks_pepys_diary", "standardebooks_xhtml", "diary", CC0),
    FolderRule("eebo-tcp-london-samples/*.xml", "eebo_tcp_london", "eebo_tei", "pamphlet", CC0),
    FolderRule("ia-djvu-ocr-samples/*_djvu.txt", "internet_archive_samples", "ia_djvu_txt", "ocr", "public domain (Internet Archive)"),
)
STATIC = {"standard_ebooks_pepys_diary": {"author": "Samuel Pepys"}}
# Files in the shared folders that are catalogues or documentation, not documents.
_NOT_TEXT = re.compile(r"(PROVENANCE|README|FORMATS|readme|manifest|upstream_|test_results|content\.opf|toc\.xhtml|\.rdf$|\.yaml$|\.csv$|names\.tsv$|_v1\.tsv$|_v1-1\.tsv$)")


def registry_index(sources) -> dict:
    """{ebook number: {"year", "title", "author"}} of the registry's Gutenberg sources (collect.registry)."""
    index = {}
    for source in sources or ():
        ebook = (getattr(source, "spec", None) or {}).get("ebook")
        if ebook is not None:
            index[str(ebook)] = {"year": source.year, "title": source.title, "author": source.author}
    return index


def _context(src: Path, registry=None) -> dict:
    """Catalogue data some rules need (read once)."""
    ctx: dict = {"inquests": {}, "manifest_numbers": {}, "registry": registry_index(registry),
                 "catalogue_files": {m.group(1): p for p in src.rglob("pg*.rdf")
                                     if (m := re.fullmatch(r"pg(\d+)\.rdf", p.name))}}
    catalogue = src / "london-lives-westminster-coroners-inquests/coroners_inquests/wa_coroners_inquests_v1-1.tsv"
    if catalogue.is_file():
        reader = csv.DictReader(io.StringIO(catalogue.read_text(encoding="utf-8", errors="replace")), delimiter="\t")
        ctx["inquests"] = {row["inquisition_img"]: row for row in reader if row.get("inquisition_img")}
    for manifest in src.glob("gutenberg-*/manifest.json"):
        try:
            for entry in json.loads(manifest.read_text(encoding="utf-8")).get("files", []):
                if entry.get("pg_ebook_no"):
                    ctx["manifest_numbers"][Path(entry["file"]).name] = str(entry["pg_ebook_no"])
        except (OSError, ValueError):
            log.warning("unreadable manifest %s (ebook numbers will come from the file headers)", manifest)
    return ctx


def _place(src_file: Path, dest: Path) -> None:
    """Put `src_file` at `dest` complete or not at all (hard link, else copy, then rename)."""
    tmp = dest.with_name(f".{dest.name}.import.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src_file, tmp)
        except OSError:
            shutil.copyfile(src_file, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _already_imported(src_file: Path, dest: Path) -> bool:
    side = sidecar_path(dest)
    if not (side.is_file() and dest.is_file()):
        return False
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("bytes") == src_file.stat().st_size and meta.get("origin") == str(src_file)


def _import_one(rule: Optional[FolderRule], src_file: Path, dest: Path, deposit, ctx: dict) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if deposit is not None:  # a bulk zip: read in place by the build, as after the online bulk route
        sidecar_path(dest).unlink(missing_ok=True)
        _place(src_file, dest)
        write_deposit_sidecar(dest, src_file, deposit)
        return
    extra = {"title": None, "author": None, "date": None, "year": None,
             **STATIC.get(rule.source_id, {}), **(rule.describe(src_file, ctx) if rule.describe else {})}
    sidecar_path(dest).unlink(missing_ok=True)  # the item is incomplete until its sidecar is back
    _place(src_file, dest)
    url = extra.pop("url", None)
    write_sidecar(dest, source_id=rule.source_id, kind=rule.kind, fmt=rule.fmt, licence=rule.licence,
                  url=url, origin=str(src_file), **extra)


def import_from_dir(src_dir, downloads_dir, *, rules=RULES, registry=None) -> dict:
    """Import every file of `src_dir` that a rule maps, and every zip that is one of the registry's bulk
    deposits (cleaning.deposit_import; a zip that is not is one DepositError, a ValueError, before
    anything is imported); return counts per source id.

    `registry` (collect.registry.load_registry's sources) gives registered books their year and title.
    """
    src, downloads = Path(src_dir).resolve(), Path(downloads_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"--from-dir {src} is not a folder (expected a copy of ../shared/corpus)")
    deposits = plan_deposits(src, registry)  # every zip checked before anything is imported
    ctx = _context(src, registry)
    summary = ImportSummary()
    mapped: set[Path] = set()
    tasks = []
    for src_file, source in deposits:
        mapped.add(src_file)
        dest = downloads / source.id / deposit_name(src_file, source)
        summary.sources[source.id] = summary.sources.get(source.id, 0) + 1
        if _already_imported(src_file, dest):
            summary.skipped += 1
        else:
            tasks.append((None, src_file, dest, source))
    for rule in rules:
        for src_file in sorted(src.glob(rule.pattern)):
            if not src_file.is_file() or src_file in mapped:
                continue
            mapped.add(src_file)
            nested = "/" in rule.pattern and "*" in rule.pattern.split("/")[-2]
            name = safe_name(f"{src_file.parent.name}__{src_file.name}" if nested else src_file.name)
            dest = downloads / rule.source_id / name
            summary.sources[rule.source_id] = summary.sources.get(rule.source_id, 0) + 1
            if _already_imported(src_file, dest):
                summary.skipped += 1
                continue
            tasks.append((rule, src_file, dest, None))
    # Each sidecar is fsynced before its rename (atomic.write_json): threads overlap those waits.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in pool.map(lambda task: _import_one(*task, ctx), tasks):
            summary.imported += 1
    if ctx.get("uncatalogued_inquests"):
        names = ctx["uncatalogued_inquests"]
        log.warning("%d coroners' inquest(s) imported without their catalogue (wa_coroners_inquests_v1-1.tsv "
                    "beside wa_inq_txt/): no title from it, dates read from their text where they state one "
                    "(e.g. %s)", len(names), ", ".join(names[:3]))
        summary.warnings.append(f"{len(names)} coroners' inquests without their catalogue file")
    for path in sorted(src.rglob("*")):
        if path.is_file() and path not in mapped and not _NOT_TEXT.search(path.name) and not path.name.endswith(SUFFIX):
            summary.unmapped.append(str(path.relative_to(src)))
    return summary.as_dict()
