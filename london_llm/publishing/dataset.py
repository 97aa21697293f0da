"""The corpus as a Hugging Face dataset: documents.jsonl -> Parquet shards + a dataset card.

Rows keep documents.jsonl's fields and order; the split is the one training used (by document,
the seeded hash of london_llm.split, with the same per-kind guarantee), computed by the very
SplitWriter pretokenization runs, so no second implementation can drift from it. A source whose
licence does not allow redistribution (or names no licence) is left out, and the user is told.
`datasets.load_dataset(FOLDER)` loads the result.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import yaml
from tqdm import tqdm

from london_llm import atomic
from london_llm.hashing import sha256_file
from london_llm.pretokenize.split import SplitWriter, split_score
from london_llm.tags import period_tag
from london_llm.tokenization.documents import document_id

from .card_schema import check_front_matter
from .corpus import CorpusStats, iter_records, period_label
from .errors import PublishError
from .licences import classify, combine
from .card import read_front_matter

MARKER = ".london_llm_dataset.json"
SPLIT_NAMES = {"train": "train", "val": "validation"}  # pretokenization's names -> the Hub's
SHARD_CHARS = 200_000_000  # ~200 MB of text per Parquet shard (the Hub's viewer likes < 500 MB files)
# documents.jsonl's fields (cleaning.documents, format 3) in its order; one a document lacks (`series`
# before format 3) is written as null, so any readable format exports to the same columns
FIELDS = ("id", "source", "source_id", "kind", "series", "title", "author", "date", "year", "decade",
          "licence", "origin", "sha256", "chars", "words", "text")


@dataclass
class DatasetExport:
    folder: Path
    rows: dict[str, int]
    left_out: dict[str, str]          # source id -> why
    files: list[tuple[str, int, str]]  # (relative path, bytes, sha256)
    front_matter: dict = field(default_factory=dict)
    split_note: str = ""


def _schema():
    import pyarrow as pa

    types = {"year": pa.int32(), "decade": pa.int32(), "chars": pa.int64(), "words": pa.int64()}
    return pa.schema([(name, types.get(name, pa.string())) for name in FIELDS])


class _SplitRecorder(SplitWriter):
    """Pretokenization's SplitWriter, deciding as it does, but recording each document's row
    number instead of writing its tokens (the decision logic is reused, not rewritten)."""

    def __init__(self, folder: Path, val_fraction: float):
        super().__init__(folder, val_fraction)
        self.assigned: dict[int, str] = {}

    def _write(self, split: str, kind: str, ids: np.ndarray) -> None:
        self.assigned[int(ids[0])] = split
        self.counts[split].add(kind, 1)


def split_settings(data_dir: Optional[Path], documents: Path, fallback: tuple[float, int],
                   log: Callable[[str], None]) -> tuple[float, int, str]:
    """(val_fraction, seed, how they were found): from the pretokenized metadata training used."""
    meta_file = Path(data_dir) / "metadata.json" if data_dir else None
    if meta_file and meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            val_fraction, seed = float(meta["val_fraction"]), int(meta["seed"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PublishError(f"{meta_file} is unreadable ({exc}); rebuild it by training again, or pass --data_dir")
        note = f"the split training used (its pretokenized data: seed {seed}, val_fraction {val_fraction})"
        recorded = (meta.get("documents_file") or {}).get("sha256")
        if recorded and recorded != sha256_file(documents):
            log(f"WARNING: {documents} changed since {meta_file.parent} was built; documents that are new get the "
                "split they would get if training were run again")
            note += "; the documents file has changed since"
        return val_fraction, seed, note
    val_fraction, seed = fallback
    log(f"WARNING: no pretokenized metadata.json in {data_dir}; the split uses the preset's seed {seed} and "
        f"val_fraction {val_fraction}, as training would")
    return val_fraction, seed, f"the preset's split (seed {seed}, val_fraction {val_fraction}); no training data found"


def assign_splits(documents: Path, val_fraction: float, seed: int) -> dict[int, str]:
    """line number -> "train"/"val" for every document with text, as pretokenization assigned them
    (over all documents: leaving a source out of the dataset must not move the others)."""
    with tempfile.TemporaryDirectory() as tmp:
        recorder = _SplitRecorder(Path(tmp), val_fraction)
        try:
            for line_no, record in iter_records(documents):
                recorder.add(record["kind"], split_score(document_id(record, line_no), seed),
                             np.array([line_no], dtype=np.int64))
            recorder.finish()
        finally:
            recorder.close()
    return recorder.assigned


def export_dataset(documents: Path, out_dir: Path, *, stats: CorpusStats, data_dir: Optional[Path],
                   fallback_split: tuple[float, int], repo_id: str, log: Callable[[str], None] = print,
                   shard_chars: int = SHARD_CHARS) -> DatasetExport:
    import pyarrow as pa
    import pyarrow.parquet as pq

    documents, out_dir = Path(documents), Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).is_file())):
        raise PublishError(f"--output_dir {out_dir} exists and is not a dataset export written by this script; "
                           "choose a new or empty folder")
    left_out = {}
    for sid, s in sorted(stats.sources.items()):
        bad = [text or "no licence recorded" for text in s.licence_texts if not classify(text).redistributable]
        if bad and s.own:
            unlicensed = sum(n for text, n in s.licence_texts.items() if not classify(text).redistributable)
            left_out[sid] = f"your own texts, {unlicensed:,} of them with no licence that allows redistribution"
            log(f"Leaving out {sid} ({s.documents:,} documents): {left_out[sid]} ({'; '.join(sorted(set(bad)))}); "
                "state their licence with historical_data_collector.py --add-texts FOLDER --texts-licence TEXT "
                "(or a 'licence' column in --metadata FILE), rerun it, then publish again")
        elif bad:
            left_out[sid] = "; ".join(sorted(set(bad)))
            log(f"Leaving out {sid} ({s.documents:,} documents): its licence does not allow redistribution "
                f"({left_out[sid]})")
    if len(left_out) == len(stats.sources):
        raise PublishError("every source's licence forbids redistribution (or is unknown); nothing to publish")
    kept_sources = {sid for sid in stats.sources if sid not in left_out}

    def allowed(record: dict) -> bool:
        return str(record.get("source_id") or record.get("source") or "unknown") in kept_sources

    val_fraction, seed, split_note = split_settings(data_dir, documents, fallback_split, log)
    assigned = assign_splits(documents, val_fraction, seed)
    schema = _schema()
    rows = Counter()
    per_split_period: dict[str, Counter] = {"train": Counter(), "validation": Counter()}
    with atomic.atomic_dir(out_dir) as tmp:
        (tmp / "data").mkdir()
        shards: dict[str, list[Path]] = {"train": [], "validation": []}
        batch: dict[str, list[dict]] = {"train": [], "validation": []}
        open_shards: dict[str, list] = {}  # split -> [ParquetWriter, characters in the shard]

        def flush(split: str) -> None:
            if batch[split]:
                open_shards[split][0].write_table(pa.Table.from_pylist(batch[split], schema=schema))
                batch[split].clear()

        bar = tqdm(total=stats.documents, unit="doc", desc="writing Parquet", mininterval=1.0)
        for line_no, record in iter_records(documents):
            bar.update()
            split = assigned.get(line_no)
            if split is None or not allowed(record):
                continue
            name, chars = SPLIT_NAMES[split], len(record["text"])
            shard = open_shards.get(name)
            if shard is None or (shard[1] > 0 and shard[1] + chars > shard_chars):
                if shard is not None:
                    flush(name)
                    shard[0].close()
                path = tmp / "data" / f"{name}-{len(shards[name]):05d}.parquet"
                shards[name].append(path)
                shard = open_shards[name] = [pq.ParquetWriter(path, schema, compression="zstd"), 0]
            shard[1] += chars
            batch[name].append({f: record.get(f) for f in FIELDS})
            rows[name] += 1
            per_split_period[name][period_tag(record.get("year")) or "undated"] += 1
            if len(batch[name]) >= 256:
                flush(name)
        bar.close()
        for name, shard in open_shards.items():
            flush(name)
            shard[0].close()
        for name, paths in shards.items():  # the Hub's shard naming, now that the count is known
            for i, path in enumerate(paths):
                path.rename(path.with_name(f"{name}-{i:05d}-of-{len(paths):05d}.parquet"))
        if not rows["train"]:
            raise PublishError(f"{documents}: no document went to the train split; nothing to publish")
        card = dataset_card(stats, kept_sources, left_out, rows, per_split_period, repo_id, split_note,
                            [s for s in ("train", "validation") if rows[s]])
        (tmp / "README.md").write_text(card, encoding="utf-8")
        meta = read_front_matter(tmp / "README.md")
        problems = check_front_matter(meta, "dataset")
        if problems:
            raise PublishError("the dataset card's front matter is invalid: " + "; ".join(problems))
        files = [(str(p.relative_to(tmp)), p.stat().st_size, sha256_file(p))
                 for p in sorted(tmp.rglob("*")) if p.is_file()]
        (tmp / MARKER).write_text(json.dumps({"documents_file": str(documents), "created": time.time(),
                                              "rows": dict(rows)}, indent=2) + "\n")
    return DatasetExport(out_dir, dict(rows), left_out, files, meta, split_note)


def dataset_card(stats: CorpusStats, kept: set[str], left_out: dict[str, str], rows: Counter,
                 per_split_period: dict[str, Counter], repo_id: str, split_note: str, splits: list[str]) -> str:
    sources = [stats.sources[sid] for sid in sorted(kept)]
    licence, why = combine([lic for s in sources for lic in s.licences], what="dataset")
    total = sum(rows.values())
    size = ("n<1K" if total < 1_000 else "1K<n<10K" if total < 10_000 else "10K<n<100K" if total < 100_000
            else "100K<n<1M" if total < 1_000_000 else "1M<n<10M")
    meta = {
        "license": licence, "language": ["en"], "task_categories": ["text-generation"],
        "pretty_name": "London Historical Corpus", "size_categories": [size],
        "tags": ["historical", "london", "early-modern-english", "old-bailey"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]}],
    }
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, width=100).rstrip(), "---", "",
             f"# {repo_id.split('/')[-1]}", "",
             "Historical London texts (1500-1913), cleaned by the London Historical LLM project's data stage: one "
             "row per document, in the order training read them, with the train/validation split training used.",
             "", "```python", "from datasets import load_dataset", f'ds = load_dataset("{repo_id}")',
             'print(ds["train"][0]["title"])', "```", "", "## Fields", "",
             "| Field | Meaning |", "|---|---|"]
    meaning = {"id": "stable document id (the split hashes it)", "source": "collection it came from",
               "source_id": "source id in the project's registry", "kind": "document kind (trial, ordinary, book, "
               "diary, parish, pamphlet, ocr, other)",
               "series": "record series within the kind, where the source names one (London Lives: "
               "\"sessions papers\", \"coroners' inquests\" ...), else null",
               "title": "title", "author": "author, when known",
               "date": "date as recorded (year or ISO date)", "year": "year, when known",
               "decade": "decade, when known", "licence": "the source's licence, as recorded",
               "origin": "where the text came from (URL or file)", "sha256": "sha256 of the text",
               "chars": "characters", "words": "words", "text": "the cleaned text"}
    lines += [f"| `{f}` | {meaning[f]} |" for f in FIELDS]
    lines += ["", "## Splits", "", f"{rows['train']:,} training and {rows['validation']:,} validation documents: "
              f"{split_note}. A document goes to validation when a seeded hash of its id falls below the "
              "fraction; every kind with two or more documents keeps one in validation.", "",
              "## Statistics per source", "",
              "| Source | Documents | Words | Characters | Years | Licence |", "|---|---:|---:|---:|---|---|"]
    for s in sorted(sources, key=lambda s: -s.chars):
        years = f"{s.first_year}-{s.last_year}" if s.first_year is not None else "undated"
        lines.append(f"| {s.source or s.source_id} (`{s.source_id}`) | {s.documents:,} | {s.words:,} | "
                     f"{s.chars:,} | {years} | {'; '.join(sorted(t for t in s.licence_texts))} |")
    lines += ["", "## Documents per period", "", "| Period | Train | Validation |", "|---|---:|---:|"]
    periods = set(per_split_period["train"]) | set(per_split_period["validation"])
    for tag in sorted(periods, key=lambda t: (t == "undated", t)):
        lines.append(f"| {period_label(tag)} | {per_split_period['train'][tag]:,} | "
                     f"{per_split_period['validation'][tag]:,} |")
    lines += ["", "## Licences and citations", "", f"**Licence: `{licence}`**, because {why}.", ""]
    for s in sorted(sources, key=lambda s: s.source_id):
        cites = " ".join(s.citations) or "no citation requested"
        lines.append(f"- `{s.source_id}`: {'; '.join(sorted(s.licence_texts))}. Cite: {cites}")
    if left_out:
        lines += ["", "Left out because their licence does not allow redistribution:", ""]
        lines += [f"- `{sid}`: {why}" for sid, why in sorted(left_out.items())]
    lines += ["", "## Limitations", "", "The texts carry their period's language and views, including racism, "
              "misogyny, antisemitism and contempt for the poor; they record what was printed, kept and "
              "transcribed, and leave many voices out. Transcriptions contain keying and OCR errors."]
    return "\n".join(lines) + "\n"
