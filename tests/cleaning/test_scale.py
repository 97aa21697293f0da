"""The streaming build at scale: repeats caught whatever their names or container, the same output
from 1 and 2 workers, the spool gone afterwards; the compact dedupe index; the fast ASCII fold."""
from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pytest

from london_llm.cleaning import dedup, oldbailey_tei
from london_llm.cleaning.build import build_corpus
from london_llm.cleaning.normalise import _FOLD_TABLE, ascii_fold
from london_llm.collect.sidecar import write_sidecar



def _sessions(corpus: Path, n: int) -> list[Path]:
    """n consecutive sessions from the middle of the staged years (a few hundred trials)."""
    files = sorted((corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml"))
    return files[len(files) // 2: len(files) // 2 + n]


def _copies(corpus: Path, downloads: Path, copies: int, as_zip: bool) -> None:
    """The same sessions under new names, as files or as members of one zip, each as a download."""
    folder = downloads / "old_bailey_repeats"
    folder.mkdir(parents=True)
    sessions = _sessions(corpus, 3)
    common = dict(source_id="old_bailey_repeats", kind="trial", fmt="oldbailey_tei", title="Old Bailey",
                  licence="CC BY-NC 4.0")
    if as_zip:
        path = folder / "deposit.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for c in range(copies):
                for s in sessions:
                    archive.write(s, f"copy{c}/sessionsPapers/{s.name}")
        write_sidecar(path, url="http://mirror/deposit.zip", archive="zip", members=["*/sessionsPapers/*.xml"],
                      **common)
        return
    for c in range(copies):
        for s in sessions:
            dst = folder / f"copy{c}_{s.name}"
            shutil.copyfile(s, dst)
            write_sidecar(dst, url=f"http://mirror/{dst.name}", **common)


def _build(root: Path, workers: int) -> tuple[dict, bytes]:
    stats = build_corpus(root / "downloads", root / "processed", root / "corpus.txt", root / "metadata",
                         workers=workers, progress=False)
    return stats, (root / "processed" / "documents.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("as_zip", [False, True], ids=["files", "zip"])
def test_repeats_under_new_names_are_caught_and_workers_agree(shared_corpus, tmp_path, as_zip):
    _copies(shared_corpus, tmp_path / "once" / "downloads", 1, as_zip)
    _copies(shared_corpus, tmp_path / "thrice" / "downloads", 3, as_zip)
    once, _ = _build(tmp_path / "once", 1)
    thrice_1, jsonl_1 = _build(tmp_path / "thrice", 1)
    thrice_2, jsonl_2 = _build(tmp_path / "thrice", 2)
    unique = once["totals"]["documents"]
    assert unique > 200
    assert thrice_1["totals"]["documents"] == unique  # every repeat caught
    assert thrice_1["totals"]["removed"]["exact_duplicate"]["documents"] == 2 * unique
    assert thrice_1["totals"]["bytes"] == 3 * once["totals"]["bytes"]
    assert jsonl_1 == jsonl_2  # 1 worker and 2 give the same bytes
    assert sorted(p.name for p in (tmp_path / "thrice" / "processed").iterdir()) == ["documents.jsonl",
                                                                               "documents.meta.json"]  # spool gone
    texts = [json.loads(line)["text"] for line in jsonl_1.decode().splitlines()]
    corpus = (tmp_path / "thrice" / "corpus.txt").read_text(encoding="utf-8")
    assert corpus == "\n\n".join(texts) + "\n"


def test_a_corrupt_archive_member_is_counted_not_fatal(shared_corpus, tmp_path):
    _copies(shared_corpus, tmp_path / "downloads", 1, as_zip=True)
    path = tmp_path / "downloads" / "old_bailey_repeats" / "deposit.zip"
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 100: start + 400] = b"\x00" * 300  # damage the first member's compressed bytes
    path.write_bytes(bytes(data))
    stats, _ = _build(tmp_path, 1)
    assert stats["sources"]["old_bailey_repeats"]["removed"]["unreadable"]["documents"] == 1
    assert stats["totals"]["documents"] > 100  # the other members
    assert any("corrupt archive member" in e for e in stats["errors"])


def test_near_duplicates_of_real_trials_are_caught_and_distinct_ones_kept(shared_corpus):
    docs = [d.text for d in oldbailey_tei.parse(_sessions(shared_corpus, 1)[0].read_bytes(), {})
            if len(d.text) > 6000][:40]
    assert len(docs) >= 10
    checker = dedup.Deduplicator()
    for i, text in enumerate(docs):
        folded, exact = dedup.fold_and_hash(text)
        assert checker.check(i, exact, dedup.signature(folded)) is None
    for i, text in enumerate(docs):  # a few words changed: a near copy of document i
        edited = re.sub(r"\bthe\b", "teh", text, count=3)
        folded, exact = dedup.fold_and_hash(edited)
        assert checker.check(f"edit{i}", exact, dedup.signature(folded)) == ("near_duplicate", i)
        assert checker.check(f"copy{i}", dedup.fold_and_hash(text)[1], None) == ("exact_duplicate", i)


def test_the_index_holds_many_documents_without_false_matches():
    rng = np.random.default_rng(1)
    checker = dedup.Deduplicator()
    n = 30_000
    signatures = rng.integers(0, 2**32, (n, dedup.NUM_PERM), dtype=np.uint32)
    assert all(checker.check(i, i, signatures[i]) is None for i in range(n))
    near = signatures[123].copy()
    near[:6] += 1  # 95% of the values agree
    assert checker.check("near", -1, near) == ("near_duplicate", 123)
    assert checker.check("again", 77, None) == ("exact_duplicate", 77)
    buckets = checker.lsh.hashtables[0]
    assert buckets.size() >= n - 5 and all(type(v) is int for v in list(buckets._table.values())[:1000])


def test_fast_fold_equals_the_regex_definition(shared_corpus):
    def reference(text: str) -> str:
        folded = unicodedata.normalize("NFKD", _FOLD_TABLE(text)).encode("ascii", "ignore").decode("ascii").lower()
        return re.sub(r"[^a-z0-9]+", " ", folded).strip()
    texts = ["Cæsar’s kiss'd ſhip", "", "  --  ", "ÆTHELRED\tthe  Unready—1016!", "naïve café ﬁne", "A\u00a0B"]
    for f in sorted(shared_corpus.glob("gutenberg-*/**/*.txt"))[:12]:
        texts.append(f.read_bytes()[:200_000].decode("utf-8", "replace"))
    texts += [d.text for d in oldbailey_tei.parse(_sessions(shared_corpus, 1)[0].read_bytes(), {})][:200]
    for text in texts:
        assert ascii_fold(text) == reference(text), text[:80]


def test_numpy_signature_equals_datasketchs_minhash(shared_corpus):
    """dedup.signature computes datasketch's affine32 MinHash itself: the same values, on real trials
    and on books longer than one batch and than the cached power tables' first size."""
    texts = [d.text for d in oldbailey_tei.parse(_sessions(shared_corpus, 1)[0].read_bytes(), {})][:100]
    texts += [f.read_bytes().decode("utf-8", "replace") for f in
              sorted(shared_corpus.glob("gutenberg-18c-novels-dighums/texts/*.txt"))[:2]]
    for text in texts + texts[::-1]:  # the reverse order reuses tables grown for a longer text
        folded = ascii_fold(text)
        fast, reference = dedup.signature(folded), dedup.datasketch_signature(folded)
        assert (fast is None and reference is None) or (fast.dtype == reference.dtype and
                                                        np.array_equal(fast, reference)), text[:80]
