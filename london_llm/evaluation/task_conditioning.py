"""The conditioning task: bits per byte of held-out document starts under their own tags, no tags and
wrong tags, overall and per kind (does the document's own tag help?).
"""
from __future__ import annotations

from typing import Any

from tqdm import tqdm

from london_llm.evaluation.results import metric
from london_llm.evaluation.stats import ratio_stderr


def conditioning_entry(loaded, held, notes) -> dict[str, Any]:
    from london_llm.evaluation.conditioning import CONDITIONS, score_passages

    if not loaded.conditioning_tags:
        notes.append("the tokenizer has no conditioning tags: conditioning skipped")
        return {"engine": "london_llm", "metrics": {}, "baselines": {}, "details": {"skipped": "no tags"}}
    with tqdm(total=len(held["starts"]), desc="conditioning", unit="doc") as bar:
        scored = score_passages(loaded.model, loaded.tokenizer, held["starts"], loaded.conditioning_tags, bar)
    metrics, by_kind = {}, {}

    def summary(items):
        out = {}
        for c in CONDITIONS:
            out[c] = ratio_stderr([x.bits[c] for x in items], [x.bytes for x in items])
        gain = ratio_stderr([x.bits["none"] - x.bits["own"] for x in items], [x.bytes for x in items])
        wrong = ratio_stderr([x.bits["wrong"] - x.bits["own"] for x in items], [x.bytes for x in items])
        return out, gain, wrong

    if scored:
        out, gain, wrong = summary(scored)
        for c in CONDITIONS:
            metrics[f"bpb_{c}_tags"] = metric(*out[c], len(scored), higher_is_better=False)
        metrics["gain_own_vs_none"] = metric(*gain, len(scored))
        metrics["gain_own_vs_wrong"] = metric(*wrong, len(scored))
    for kind in sorted({x.kind for x in scored}):
        items = [x for x in scored if x.kind == kind]
        out, gain, wrong = summary(items)
        by_kind[kind] = {"n": len(items), **{f"bpb_{c}": out[c][0] for c in CONDITIONS},
                         "gain_vs_none": gain[0], "gain_vs_none_stderr": gain[1],
                         "gain_vs_wrong": wrong[0], "helps": bool(gain[0] > 0)}
    return {"engine": "london_llm", "metrics": metrics,
            "baselines": {"chance": {"gain_own_vs_none": metric(0.0, None, None),
                                     "gain_own_vs_wrong": metric(0.0, None, None)}},
            "details": {"by_kind": by_kind, "reading": "gain = bits per byte saved by the document's own tags "
                        "(positive: the tags help)", "documents": len(scored)}}
