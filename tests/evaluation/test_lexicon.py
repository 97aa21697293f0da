"""The dated lexicon and a known count of anachronisms."""
from __future__ import annotations

from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "05_evaluation" / "tasks" / "data"


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


def test_a_later_sense_is_only_a_possible_anachronism():
    """'computer' (one who computes) and 'wireless' (an adjective) are period words: a whole-word match
    of a "sense" entry is kept apart from the definite hits, in the counts and in the report."""
    from london_llm.evaluation.generation import Prompt, Sample, count_anachronisms, words_found
    from london_llm.evaluation.lexicon import Matcher, read_lexicon
    from london_llm.evaluation.report import _details

    m = Matcher(read_lexicon(DATA / "lexicon.jsonl"))
    samples = [Sample(Prompt("", "t"), "The computers of the Navy Board drove to the airport."),
               Sample(Prompt("", "t"), "A computer came by the airport.")]
    count_anachronisms(samples, m)
    kinds = {h.term: (h.kind, h.definite) for s in samples for h in s.hits}
    assert kinds == {"computers": ("sense", False), "computer": ("sense", False), "airport": ("word", True)}
    found = words_found(samples)
    assert found[0] == {"term": "airport", "year": 1919, "kind": "word", "count": 2}
    assert {"term": "computer", "year": 1945, "kind": "sense", "count": 1} in found
    text = "\n".join(_details("anachronism", {"words_found": found, "words": 20, "samples": 2}))
    assert "airport (1919) x2" in text and "computer (1945, a later sense) x1" in text
