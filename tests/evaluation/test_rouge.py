"""ROUGE of normalised period text against a known pair."""
from __future__ import annotations


import pytest


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
