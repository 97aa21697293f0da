"""The --add-texts flags and their run, shared by the two stage-02 scripts (historical_data_collector.py
and clean_corpus.py): the user's own folder of .txt files, imported by cleaning.own_texts."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from london_llm import atomic
from london_llm.tags import KINDS

from .dating import MetadataError, load_metadata
from .own_texts import DEFAULT_KIND, SOURCE_ID, OwnTextsError, check_source_id, import_own_texts
from .sidecar import SUFFIX

REPORT = "own_texts_import.json"  # in metadata/: the last import's counts and refusals


def add_arguments(group, add) -> None:
    """The flags, added to `group` by `add(group, *names, **kwargs)` (each script's own spelling rule)."""
    add(group, "--add-texts", type=Path, metavar="FOLDER",
        help="import your own plain-text files: every *.txt and *.txt.gz under FOLDER (recursively) as one "
             "document each, cleaned like every source, then clean (nothing is downloaded; combine with "
             "--from-dir). Titles, authors, licences, kinds and years from --metadata (rows keyed by file name "
             "or path inside FOLDER), else a Gutenberg file's Title: line or the file's stem, and the text's "
             "title page; a rerun adds nothing twice")
    add(group, "--texts-licence", "--texts-license", metavar="TEXT",
        help="the licence of the --add-texts files, e.g. 'CC BY 4.0' or 'public domain' (default: none stated, "
             "so the corpus dataset leaves them out; a 'licence' metadata column wins)")
    add(group, "--texts-kind", default=DEFAULT_KIND, metavar="KIND",
        help=f"document kind of the --add-texts files: {', '.join(KINDS)} (default: {DEFAULT_KIND}; a 'kind' "
             "metadata column wins)")
    add(group, "--texts-source", default=SOURCE_ID, metavar="ID",
        help=f"source id of the --add-texts files, naming downloads/ID/ (default: {SOURCE_ID}); one per "
             "folder to keep folders under different licences apart")


def misused(args) -> Optional[str]:
    """The error line when a --texts-* flag comes without --add-texts, else None."""
    given = [flag for flag, used in (("--texts-licence", args.texts_licence),
                                     ("--texts-kind", args.texts_kind != DEFAULT_KIND),
                                     ("--texts-source", args.texts_source != SOURCE_ID)) if used]
    if given and not args.add_texts:
        return f"{', '.join(given)} describe(s) the --add-texts FOLDER files; add --add-texts FOLDER"
    return None


def all_licensed(folder: Path) -> bool:
    """Every item under downloads/<source id>/ states a licence."""
    for side in folder.glob(f"*{SUFFIX}"):
        try:
            if not json.loads(side.read_text(encoding="utf-8")).get("licence"):
                return False
        except (OSError, ValueError):
            return False
    return True


def run(args, downloads: Path, metadata_dir: Path, *, registered=(), max_bytes: int) -> int:
    """Import args.add_texts; print its counts and each refusal (one line each); 2 after one error line, else 0."""
    try:
        check_source_id(args.texts_source, tuple(registered))
        metadata = load_metadata(args.metadata) if args.metadata else {}
        summary = import_own_texts(args.add_texts, downloads, metadata=metadata, licence=args.texts_licence,
                                   kind=args.texts_kind, source_id=args.texts_source, max_bytes=max_bytes)
    except (OwnTextsError, MetadataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in summary.refused:
        print(f"warning: --add-texts left out {line}", file=sys.stderr)
    atomic.write_json(Path(metadata_dir) / REPORT, {**summary.as_dict(), "folder": str(args.add_texts)})
    print(f"added texts from {args.add_texts} as {summary.source_id}: {summary.imported} new, {summary.updated} "
          f"with new metadata, {summary.unchanged} unchanged, {len(summary.refused)} left out")
    if not (args.texts_licence or all_licensed(Path(downloads) / summary.source_id)):
        print(f"warning: --add-texts: no licence stated for (some of) your texts: they are trained on, but the corpus "
              f"dataset (10_scripts/publish_dataset.py) leaves {summary.source_id} out; state one with "
              "--texts-licence TEXT or a 'licence' column in --metadata, and rerun", file=sys.stderr)
    return 0
