"""MMLU per subject and per category: hand-computable cases and the harness's own subject map."""
from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest


def samples(table: dict[str, list[int]]) -> list[dict]:
    return [{"doc": {"subject": subject}, "acc": float(a)} for subject, accs in table.items() for a in accs]


def test_per_subject_and_category_accuracy_with_standard_errors():
    from london_llm.evaluation.mmlu import breakdown

    out = breakdown(samples({"astronomy": [1, 0, 1, 1], "anatomy": [0, 1], "world_religions": [1, 1, 0],
                             "my_own_subject": [1]}))
    astro = out["by_subject"]["astronomy"]
    assert astro["category"] == "stem" and astro["n"] == 4 and astro["acc"] == pytest.approx(0.75)
    assert astro["stderr"] == pytest.approx(math.sqrt(0.25 / 4))  # sample variance 1/4 over n = 4
    assert out["by_subject"]["my_own_subject"] == {"category": "uncategorised", "acc": 1.0, "stderr": None, "n": 1}
    stem = out["by_category"]["stem"]
    assert stem["acc"] == pytest.approx(4 / 6) and stem["n"] == 6 and stem["subjects"] == 2
    # the harness's pooled variance: sum((n-1) * se^2 * n) / (N - k), over N
    var = (3 * (0.25 / 4) * 4 + 1 * (0.5 / 2) * 2) / (6 - 2)
    assert stem["stderr"] == pytest.approx(math.sqrt(var / 6))
    assert out["by_category"]["humanities"]["acc"] == pytest.approx(2 / 3)
    assert out["overall_as_harness_group"]["acc"] == pytest.approx(7 / 10)
    assert out["overall_as_harness_group"]["n"] == 10


def test_pooled_stderr_is_what_the_harness_computes():
    from lm_eval.api.metrics import pooled_sample_stderr

    from london_llm.evaluation.mmlu import breakdown

    out = breakdown(samples({"anatomy": [1, 0, 0], "astronomy": [1, 1, 0, 0, 1]}))
    subj = out["by_subject"]
    expected = pooled_sample_stderr([subj["anatomy"]["stderr"], subj["astronomy"]["stderr"]], [3, 5])
    assert out["by_category"]["stem"]["stderr"] == pytest.approx(expected)


def test_categories_are_the_harness_subject_map():
    import lm_eval

    from london_llm.evaluation.mmlu import CATEGORIES

    source = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "_generate_configs.py"
    if not source.is_file():
        pytest.skip("lm-eval's mmlu task folder is not installed")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    (node,) = [n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "SUBJECTS"]
    assert ast.literal_eval(node.value) == CATEGORIES


def test_the_report_shows_the_tables():
    from london_llm.evaluation.mmlu import breakdown
    from london_llm.evaluation.report import _details

    lines = _details("mmlu", breakdown(samples({"astronomy": [1, 0], "philosophy": [1, 1, 0]})))
    text = "\n".join(lines)
    assert "| stem | 0.500 ± 0.500 | 2 |" in text and "| philosophy | 0.667 ± 0.333 | 3 |" in text
    assert "Overall as the harness's mmlu group: 0.600" in text
