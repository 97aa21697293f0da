"""Human evaluation: a ratings table with a known Krippendorff's alpha, bad ratings refused."""
from __future__ import annotations

import csv

import pytest


def test_krippendorff_alpha_of_a_known_table():
    from london_llm.evaluation.human import krippendorff_alpha, summarise

    # two raters, three samples: A 1 2 3, B 1 2 4. Interval alpha = 1 - D_o/D_e with D_o = 2/6 and
    # D_e = 82/30 (all ordered pairs of the six values), i.e. 36/41.
    rows = [{"sample_id": s, "checkpoint": "c", "rater": r, "coherence": v}
            for r, values in (("A", (1, 2, 3)), ("B", (1, 2, 4))) for s, v in zip("xyz", values)]
    assert krippendorff_alpha(rows, "coherence", level="interval") == pytest.approx(36 / 41)
    same = [dict(r, coherence=r["coherence"] if r["rater"] == "A" else {"x": 1, "y": 2, "z": 3}[r["sample_id"]])
            for r in rows]
    assert krippendorff_alpha(same, "coherence") == pytest.approx(1.0)
    summary = summarise(rows)
    c = summary["by_checkpoint"]["c"]["coherence"]
    assert c["mean"] == pytest.approx(13 / 6) and c["n"] == 6
    assert c["ci95"][0] < c["mean"] < c["ci95"][1]
    assert summary["alpha"]["period_voice"] is None  # nobody rated it


def test_ratings_with_a_bad_value_are_refused(tmp_path):
    from london_llm.evaluation import human
    from london_llm.evaluation.errors import EvaluationError

    files = human.export(tmp_path, [("ck-a", "p", "text one"), ("ck-b", "p", "text two")], seed=1)
    rows = list(csv.DictReader(open(files["csv"], encoding="utf-8")))
    rows[1]["coherence"] = "7"
    with open(tmp_path / "ratings_x.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(EvaluationError, match="line 3: coherence = '7'"):
        human.read_ratings(files["key"], [tmp_path / "ratings_x.csv"])
    assert "ck-a" not in files["csv"].read_text() and "ck-a" in files["key"].read_text()  # blinded


def test_a_ratings_file_too_big_to_be_one_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from london_llm.evaluation import human
    from london_llm.evaluation.errors import EvaluationError

    files = human.export(tmp_path, [("ck-a", "p", "text one")], seed=1)
    monkeypatch.setattr(human, "MAX_RATINGS_BYTES", files["key"].stat().st_size + 10)
    huge = tmp_path / "ratings_huge.csv"
    huge.write_text("x" * (human.MAX_RATINGS_BYTES + 1), encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"the ratings file .*ratings_huge\.csv is [\d,]+ bytes, over"):
        human.read_ratings(files["key"], [huge])
