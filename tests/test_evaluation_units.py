"""Stage 05 units, each against a case computable by hand: ROUGE of a known pair, a known count of
anachronisms and its interval, a ratings table with a known Krippendorff's alpha, question files
with the bad line named, the results artifact's version check."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "05_evaluation" / "tasks" / "data"


# --- ROUGE ------------------------------------------------------------------------------------

def test_rouge_of_a_known_pair():
    from london_llm.evaluation.rouge import rouge_scores

    s = rouge_scores(["the cat sat on the mat"], ["the cat lay on the mat"])
    assert s["rouge1"][0] == pytest.approx(5 / 6)  # 5 of 6 unigrams shared each way
    assert s["rouge2"][0] == pytest.approx(3 / 5)  # the cat, on the, the mat of 5 bigrams
    assert s["rougeL"][0] == pytest.approx(5 / 6)  # the cat on the mat


def test_rouge_keeps_long_s_accents_and_period_spelling():
    from rouge_score import rouge_scorer

    from london_llm.evaluation.rouge import PeriodTokenizer, normalise, rouge_scores

    pred, ref = "the ſeaſon at the Café was ſhew'd", "the season at the cafe was shew'd"
    assert normalise("ſeaſon Café Æther ﬁne") == "season cafe aether fine"
    assert PeriodTokenizer().tokenize(pred) == ["the", "season", "at", "the", "cafe", "was", "shew'd"]
    assert rouge_scores([pred], [ref])["rouge1"][0] == pytest.approx(1.0)
    default = rouge_scorer.RougeScorer(["rouge1"]).score(ref, pred)["rouge1"].fmeasure
    assert default < 0.8  # what the default tokenizer makes of the same pair: the reason we normalise
    assert rouge_scores(["he did shew it"], ["he did show it"])["rouge1"][0] == pytest.approx(3 / 4)  # no stemming


# --- anachronisms -----------------------------------------------------------------------------

def test_lexicon_meets_the_brief():
    from london_llm.evaluation.lexicon import read_lexicon

    entries = read_lexicon(DATA / "lexicon.jsonl")
    assert len(entries) >= 500
    by = {e.term: e for e in entries}
    assert by["telephone"].year == 1876 and by["television"].year >= 1900 and by["internet"].year >= 1970
    assert by["okay"].year == 1839 and by["aeroplane"].year > 1870 and by["computer"].kind == "sense"
    assert all(e.note and e.source and 1500 <= e.year <= 2030 for e in entries)
    assert len(by) == len(entries)


def test_a_known_count_of_anachronisms():
    from london_llm.evaluation.lexicon import Matcher, count_words, read_lexicon

    m = Matcher(read_lexicon(DATA / "lexicon.jsonl"))
    text = ("He took a taxi to the airport, sent an e-mail from his smartphone and a telegram, "
            "then ate a sandwich in Sandwich; OK, the Internet was down. Televised! A motor car.")
    found = [(h.term, h.year) for h in m.find(text)]  # against the 1913 cutoff
    assert found == [("airport", 1919), ("e-mail", 1979), ("smartphone", 1997), ("Internet", 1974),
                     ("televised", 1927)]
    in_1800 = [h.term for h in m.find(text, 1800)]  # a text of 1800 may not have these either
    assert in_1800 == ["taxi", "airport", "e-mail", "smartphone", "telegram", "OK", "Internet", "televised",
                       "motor car"]  # not 'sandwich' (1762) and never the town of Sandwich
    assert count_words(text) == 31  # e-mail is one word
    assert m.find("the computers of the Navy Board", 1913)[0].term == "computers"


def test_rate_interval_is_the_exact_poisson_one():
    from london_llm.evaluation.stats import poisson_interval, ratio_stderr

    low, high = poisson_interval(3)
    assert (low, high) == (pytest.approx(0.6187, abs=1e-4), pytest.approx(8.7673, abs=1e-4))
    assert poisson_interval(0)[1] == pytest.approx(3.6889, abs=1e-4)
    rate, se = ratio_stderr([1000, 2000, 0], [100, 100, 100])  # 3 hits in 300 words
    assert rate == pytest.approx(10.0)
    # residuals a - 10 b = 0, 1000, -1000: variance 1e6 (n-1 = 2), stderr sqrt(1e6 / 3) / mean words 100
    assert se == pytest.approx(math.sqrt(1e6 / 3) / 100, rel=1e-9)


# --- human evaluation --------------------------------------------------------------------------

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


# --- question files -----------------------------------------------------------------------------

def test_shipped_task_data_meets_the_brief():
    from london_llm.evaluation.questions import read_questions

    history = read_questions(DATA / "history_mc.jsonl")
    assert len(history) >= 200 and all(1500 <= q["year"] <= 1913 for q in history)
    assert {q["topic"] for q in history} >= {"events", "places", "institutions", "law", "trades", "money",
                                             "daily_life", "language"}
    cutoff = read_questions(DATA / "cutoff_probe.jsonl")
    assert sum(q["year"] > 1913 for q in cutoff) >= 100 and sum(q["year"] <= 1913 for q in cutoff) >= 100
    vocab = [json.loads(line) for line in open(DATA / "vocabulary_pairs.jsonl", encoding="utf-8")]
    assert len(vocab) >= 150
    for v in vocab:  # the same sentence, only the slot differs
        period, modern = v["choices"][v["answer"]], v["choices"][1 - v["answer"]]
        assert period.startswith(v["period"]) and modern.startswith(v["modern"])
        assert period[len(v["period"]):] == modern[len(v["modern"]):]
    answers = [q["answer"] for q in history]
    assert max(answers.count(i) for i in range(4)) < 0.35 * len(answers)  # no position favoured


@pytest.mark.parametrize("content,message", [
    ("", "holds no questions"),
    ('{"context": "a", "choices": ["b", "c"], "answer": 0}\n[1, 2]\n', "line 2: not a JSON object"),
    ('{"context": "a", "choices": ["b", "c"], "answer": 2}\n', "line 1: 'answer' 2"),
    ('{"context": "a", "choices": ["b"], "answer": 0}\n', "line 1: 'choices'"),
    ('{"choices": ["b", "c"], "answer": 0}\n', "line 1: needs a text 'context'"),
    ('\n\n{"context": "a", "choices": ["b", "c"], "answer": 0, "year": "1666"}\n', "line 3: 'year'"),
])
def test_bad_question_files_name_the_line(tmp_path, content, message):
    from london_llm.evaluation.errors import EvaluationError
    from london_llm.evaluation.questions import read_questions

    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(EvaluationError, match=message):
        read_questions(path)


def test_question_answer_may_be_the_choice_text(tmp_path):
    from london_llm.evaluation.questions import read_questions

    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a", "choices": ["b", "c"], "answer": "c"}\n')
    assert read_questions(path)[0]["answer"] == 1 and read_questions(path)[0]["context"] == "a"


# --- results artifact ---------------------------------------------------------------------------

def test_results_round_trip_and_version_check(tmp_path):
    from london_llm.evaluation import results as r

    res = r.new_results(command=["x"], mode="quick", seed=1, limit=None, device="cpu", libraries={}, machine={})
    res["checkpoints"].append({"name": "checkpoint-5", "step": 5, "tasks": {"history": {
        "metrics": {"acc": r.metric(0.5, 0.1, 20)}, "baselines": {"chance": {"acc": r.metric(0.25, None, 20)}}}}})
    path = r.write_results(tmp_path, res)
    rows = list(r.iter_metrics(r.read_results(path)))
    assert rows == [{"checkpoint": "checkpoint-5", "step": 5, "task": "history", "metric": "acc", "value": 0.5,
                     "stderr": 0.1, "n": 20, "higher_is_better": True, "baseline_chance": 0.25}]
    res["format_version"] = 99
    path.write_text(json.dumps(res))
    with pytest.raises(r.ResultsFormatError, match="format_version 99.*rerun 05_evaluation/run_evaluation.py"):
        r.read_results(tmp_path)
    with pytest.raises(r.ResultsFormatError, match="does not exist"):
        r.read_results(tmp_path / "nowhere")
    assert r.metric(float("nan"))["value"] is None


# --- baselines ------------------------------------------------------------------------------------

def test_unigram_baseline_by_hand(tmp_path):
    import numpy as np

    from london_llm.evaluation.baselines import Unigram, chance_mc, uniform_bits_per_token

    np.array([1, 1, 2], dtype="<u2").tofile(tmp_path / "train.bin")
    u = Unigram.from_train_bin(tmp_path, vocab_size=4)  # add-one counts 1, 3, 2, 1 of 7
    assert u.bits([1]) == pytest.approx(math.log2(7 / 3))
    assert u.bits([0, 3]) == pytest.approx(2 * math.log2(7))
    assert u.tokens == 3
    assert chance_mc([{"choices": ["a", "b"]}, {"choices": ["a", "b", "c", "d"]}]) == pytest.approx(0.375)
    assert uniform_bits_per_token(1024) == 10
