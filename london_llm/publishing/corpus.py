"""What the training documents were: one streaming pass over documents.jsonl, per source and period.

Both cards (model and dataset) describe the data from the documents themselves, not from a
table: the licence text each document carries, its source, kind and year.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from london_llm.tags import period_tag
from london_llm.tokenization.documents import iter_documents
from london_llm.tokenization.errors import TokenizerError

from london_llm.cleaning.own_texts import COLLECTION as OWN_TEXTS  # the `source` of the user's own texts

from .errors import PublishError
from .licences import Licence, citations_for, classify


@dataclass
class SourceStats:
    source_id: str
    source: str = ""
    documents: int = 0
    chars: int = 0
    words: int = 0
    first_year: Optional[int] = None
    last_year: Optional[int] = None
    kinds: Counter = field(default_factory=Counter)
    licence_texts: Counter = field(default_factory=Counter)

    @property
    def licences(self) -> list[Licence]:
        return [classify(text) for text in self.licence_texts]

    @property
    def own(self) -> bool:
        """The user's own texts (historical_data_collector.py --add-texts), not a registered source."""
        return self.source == OWN_TEXTS

    @property
    def redistributable(self) -> bool:
        return all(lic.redistributable for lic in self.licences)

    @property
    def citations(self) -> list[str]:
        return citations_for(self.source, self.source_id, *self.licence_texts)

    def add(self, record: dict) -> None:
        self.source = self.source or str(record.get("source") or "")
        self.documents += 1
        self.chars += len(record["text"])
        self.words += int(record.get("words") or len(record["text"].split()))
        self.kinds[record["kind"]] += 1
        self.licence_texts[str(record.get("licence") or "")] += 1
        year = record.get("year")
        if year is not None:
            self.first_year = year if self.first_year is None else min(self.first_year, year)
            self.last_year = year if self.last_year is None else max(self.last_year, year)


@dataclass
class CorpusStats:
    path: Path
    documents: int = 0
    chars: int = 0
    words: int = 0
    sources: dict[str, SourceStats] = field(default_factory=dict)
    periods: Counter = field(default_factory=Counter)        # period tag (or "undated") -> documents
    period_chars: Counter = field(default_factory=Counter)

    @property
    def licences(self) -> list[Licence]:
        return [lic for s in self.sources.values() for lic in s.licences]


def iter_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of every document with text, as pretokenization reads them."""
    try:
        for line_no, _raw, record in iter_documents(Path(path)):
            if record["text"]:
                yield line_no, record
    except TokenizerError as exc:  # it already names the file and the fix
        raise PublishError(str(exc)) from None


def corpus_stats(path: Path) -> CorpusStats:
    path = Path(path)
    if not path.is_file():
        raise PublishError(f"documents file {path} not found: the card describes the data from it. Pass "
                           "--documents_file, or rebuild it: python 02_data_collection/historical_data_collector.py")
    stats = CorpusStats(path)
    for _line, record in iter_records(path):
        sid = str(record.get("source_id") or record.get("source") or "unknown")
        stats.sources.setdefault(sid, SourceStats(sid)).add(record)
        stats.documents += 1
        stats.chars += len(record["text"])
        stats.words += int(record.get("words") or len(record["text"].split()))
        period = period_tag(record.get("year")) or "undated"
        stats.periods[period] += 1
        stats.period_chars[period] += len(record["text"])
    if stats.documents == 0:
        raise PublishError(f"{path} holds no documents with text; rebuild it: "
                           "python 02_data_collection/historical_data_collector.py")
    return stats


def unlicensed_own_texts(stats: CorpusStats) -> Optional[str]:
    """The model export's warning when the model learnt from your own texts with no open licence stated
    (the card's licence is then "other"), or None."""
    own = [s for s in stats.sources.values() if s.own and not s.redistributable]
    if not own:
        return None
    names = ", ".join(f"{s.source_id} ({s.documents:,} documents)" for s in sorted(own, key=lambda s: s.source_id))
    return (f"WARNING: the model was trained on your own texts with no open licence stated: {names}; the card's "
            "licence says so (\"other\"). State it with historical_data_collector.py --add-texts FOLDER "
            "--texts-licence TEXT and rebuild to change that")


def period_label(tag: str) -> str:
    """'<|period:1750-1774|>' -> '1750-1774'."""
    return tag[len("<|period:"):-2] if tag.startswith("<|period:") else tag
