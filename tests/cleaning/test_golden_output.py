"""The cleaner's output on real files is unchanged by speed work: byte-identical documents.jsonl,
corpus and statistics against the golden fingerprint written by the code before it
(tests/cleaning/golden_slice.py says how it was made and when to regenerate it)."""
from __future__ import annotations

import json

from tests.cleaning.golden_slice import GOLDEN, build_slice


def test_a_real_slice_builds_to_the_golden_output(shared_corpus, tmp_path):
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = build_slice(shared_corpus, tmp_path, workers=2)
    # the parts one at a time, so a failure names what changed
    assert got["statistics"] == want["statistics"]
    assert got["documents_meta"] == want["documents_meta"]
    changed = [w[:3] for g, w in zip(got["documents"], want["documents"]) if g != w]
    assert len(got["documents"]) == len(want["documents"]) and not changed, changed[:5]
    assert got["corpus"] == want["corpus"]
