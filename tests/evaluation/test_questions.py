"""Question files: the shipped data meets the brief, a bad line is named."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "05_evaluation" / "tasks" / "data"


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


def test_a_file_that_is_one_huge_line_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import builtins
    import io

    from london_llm.evaluation import questions
    from london_llm.evaluation.errors import EvaluationError

    path = tmp_path / "huge.jsonl"
    path.write_text('{"question": "' + "x" * (questions.MAX_LINE_CHARS * 50) + '"}\n', encoding="utf-8")
    most = []

    class Counting(io.StringIO):
        def readline(self, size=-1):
            line = super().readline(size)
            most.append(len(line))
            return line

        def __iter__(self):
            return iter(self.readline, "")

    def counting_open(file, *a, **k):
        with builtins.open(file, *a, **k) as fh:
            return Counting(fh.read())
    monkeypatch.setattr(questions, "open", counting_open, raising=False)
    with pytest.raises(EvaluationError, match=r"huge\.jsonl.*line 1.*over 20,000 characters"):
        questions.read_questions(path)
    assert max(most) <= questions.MAX_LINE_CHARS + 1
