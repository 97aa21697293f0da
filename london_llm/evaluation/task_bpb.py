"""The bits-per-byte task: held-out period text and modern text, from the harness's per-passage
log-likelihoods, pooled overall, per kind and per quarter-century, with the three baselines.
"""
from __future__ import annotations

import math
from typing import Any

from london_llm.evaluation import baselines as bl
from london_llm.evaluation import harness
from london_llm.evaluation.heldout import quarter_century
from london_llm.evaluation.results import metric
from london_llm.evaluation.stats import ratio_stderr

LN2 = math.log(2)


def bpb_entry(out, base_out, held, unigram, loaded, vocab) -> dict[str, Any]:
    tok = loaded.tokenizer
    details: dict[str, Any] = {"convention": "rolling log-likelihood of each passage after <|endoftext|>, "
                               "summed over passages and divided by their UTF-8 bytes (lm-eval bits_per_byte)"}
    metrics: dict[str, Any] = {}
    base: dict[str, dict] = {"chance": {}, "unigram": {}, "untrained": {}}

    def pooled(rows):
        bits = [-r["loglikelihood"] / LN2 for r in rows]
        return ratio_stderr(bits, [r["bytes"] for r in rows])

    def add(name, rows, base_rows, higher=False):
        value, se = pooled(rows)
        metrics[name] = metric(value, se, len(rows), higher_is_better=higher)
        if base_rows is not None:
            v, e = pooled(base_rows)
            base["untrained"][name] = metric(v, e, len(base_rows), higher_is_better=higher)
        ids = bl.passages_tokens(tok, [r["text"] for r in rows])
        n_bytes = [r["bytes"] for r in rows]
        v, e = ratio_stderr([len(i) * bl.uniform_bits_per_token(vocab) for i in ids], n_bytes)
        base["chance"][name] = metric(v, e, len(rows), higher_is_better=higher)
        if unigram is not None:
            v, e = ratio_stderr([unigram.bits(i) for i in ids], n_bytes)
            base["unigram"][name] = metric(v, e, len(rows), higher_is_better=higher)
        return value

    modern_rows = harness.rolling_samples(out, "london_bpb_modern")
    base_modern = harness.rolling_samples(base_out, "london_bpb_modern") if base_out else None
    modern_value = add("bpb_modern", modern_rows, base_modern)
    from london_llm.evaluation.modern import description

    details["modern_source"] = description()
    if held:
        rows = harness.rolling_samples(out, "london_bpb")
        base_rows = harness.rolling_samples(base_out, "london_bpb") if base_out else None
        value = add("bpb_heldout", rows, base_rows)
        details["harness_bits_per_byte"] = harness.bits_per_byte(out, "london_bpb")
        # the gap: how much easier period text is than modern text (positive = period easier)
        metrics["period_advantage"] = metric(modern_value - value,
                                             math.hypot(metrics["bpb_modern"]["stderr"] or 0,
                                                        metrics["bpb_heldout"]["stderr"] or 0),
                                             len(rows) + len(modern_rows), higher_is_better=True)
        details["by_kind"] = _grouped(rows, base_rows, lambda r: r["kind"] or "unknown", pooled)
        details["by_quarter_century"] = _grouped(
            rows, base_rows, lambda r: quarter_century(r["year"]) or "undated", pooled)
        details["heldout_documents"] = len(held["documents"])
        details["heldout_passages"] = len(rows)
    return {"engine": f"lm-eval {harness.lm_eval_version()}", "metrics": metrics, "baselines": base,
            "details": details}


def _grouped(rows, base_rows, key, pooled) -> dict[str, Any]:
    groups: dict[str, list] = {}
    for i, r in enumerate(rows):
        groups.setdefault(key(r), []).append(i)
    out = {}
    for g, idx in sorted(groups.items()):
        value, se = pooled([rows[i] for i in idx])
        item = {"bpb": value, "stderr": se, "n": len(idx)}
        if base_rows is not None:
            item["untrained"] = pooled([base_rows[i] for i in idx])[0]
        out[g] = item
    return out
