"""MMLU beside its overall accuracy: per subject and per category, as lm-evaluation-harness reports
its `mmlu` group (subtasks per subject; the groups stem, humanities, social_sciences and other as
the size-weighted mean of their subjects with the pooled sample standard error).

We run MMLU as one task (london_mmlu, from the user's CSV files), so the harness gives one
accuracy; the per-sample scores it logs carry each question's subject, and the grouping here uses
the harness's own aggregation functions so the numbers are the ones its group would print.
"""
from __future__ import annotations

import math
from typing import Any

from london_llm.evaluation.stats import mean_stderr

# lm-eval's tasks/mmlu/_generate_configs.py SUBJECTS: subject -> category (tests check they agree)
CATEGORIES = {
    "abstract_algebra": "stem", "anatomy": "stem", "astronomy": "stem", "business_ethics": "other",
    "clinical_knowledge": "other", "college_biology": "stem", "college_chemistry": "stem",
    "college_computer_science": "stem", "college_mathematics": "stem", "college_medicine": "other",
    "college_physics": "stem", "computer_security": "stem", "conceptual_physics": "stem",
    "econometrics": "social_sciences", "electrical_engineering": "stem", "elementary_mathematics": "stem",
    "formal_logic": "humanities", "global_facts": "other", "high_school_biology": "stem",
    "high_school_chemistry": "stem", "high_school_computer_science": "stem",
    "high_school_european_history": "humanities", "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences", "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem", "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem", "high_school_psychology": "social_sciences", "high_school_statistics": "stem",
    "high_school_us_history": "humanities", "high_school_world_history": "humanities", "human_aging": "other",
    "human_sexuality": "social_sciences", "international_law": "humanities", "jurisprudence": "humanities",
    "logical_fallacies": "humanities", "machine_learning": "stem", "management": "other", "marketing": "other",
    "medical_genetics": "other", "miscellaneous": "other", "moral_disputes": "humanities",
    "moral_scenarios": "humanities", "nutrition": "other", "philosophy": "humanities", "prehistory": "humanities",
    "professional_accounting": "other", "professional_law": "humanities", "professional_medicine": "other",
    "professional_psychology": "social_sciences", "public_relations": "social_sciences",
    "security_studies": "social_sciences", "sociology": "social_sciences", "us_foreign_policy": "social_sciences",
    "virology": "other", "world_religions": "humanities",
}
UNKNOWN = "uncategorised"  # a subject file of the user's that MMLU does not have


def _pooled(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The harness's group aggregation: size-weighted mean, pooled sample standard error."""
    from lm_eval.api.metrics import aggregate_subtask_metrics, pooled_sample_stderr

    sizes = [g["n"] for g in groups]
    acc = aggregate_subtask_metrics([g["acc"] for g in groups], sizes, weight_by_size=True)
    # a one-question subject has no stderr; its (size - 1) weight in the pooled variance is 0 anyway
    stderrs = [0.0 if g["stderr"] is None else g["stderr"] for g in groups]
    stderr = pooled_sample_stderr(stderrs, sizes) if sum(sizes) > len(sizes) else None
    return {"acc": acc, "stderr": stderr, "n": sum(sizes), "subjects": len(groups)}


def breakdown(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """{"by_subject": {subject: {category, acc, stderr, n}}, "by_category": {category: {acc, stderr, n,
    subjects}}, "overall_as_harness_group": {...}} from the harness's logged samples of london_mmlu."""
    per: dict[str, list[float]] = {}
    for s in samples:
        per.setdefault(str(s["doc"]["subject"]), []).append(float(s["acc"]))
    by_subject = {}
    for subject, values in sorted(per.items()):
        acc, se = mean_stderr(values)
        by_subject[subject] = {"category": CATEGORIES.get(subject, UNKNOWN), "acc": acc,
                               "stderr": None if math.isnan(se) else se, "n": len(values)}
    categories: dict[str, list[dict]] = {}
    for v in by_subject.values():
        categories.setdefault(v["category"], []).append(v)
    by_category = {c: _pooled(groups) for c, groups in sorted(categories.items())}
    out = {"by_subject": by_subject, "by_category": by_category,
           "aggregation": "lm-eval's mmlu group: categories are size-weighted means of their subjects with the "
                          "pooled sample standard error; the overall likewise over the categories"}
    if by_category:
        out["overall_as_harness_group"] = _pooled(list(by_category.values()))
    return out
