"""Small API answers are read with a size bound: an oversized body is abandoned, not held whole."""
from __future__ import annotations

import pytest

from london_llm.collect import api
from london_llm.collect.http import HttpSettings


class _EndlessResponse:
    status_code = 200
    headers: dict = {}

    def __init__(self):
        self.read = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def iter_content(self, size=1):
        while True:
            self.read += size
            yield b"x" * size

    @property
    def content(self):  # what reading the whole body would do: never finishes for this one
        for _ in self.iter_content(1 << 20):
            if self.read > 64 * api.MAX_ANSWER_BYTES:
                raise AssertionError("the whole answer was read before its size was checked")


class _Session:
    def __init__(self):
        self.responses = []

    def get(self, url, **kwargs):
        self.responses.append(_EndlessResponse())
        return self.responses[-1]


def test_an_answer_over_the_limit_is_refused_after_reading_little_more_than_the_limit(monkeypatch):
    monkeypatch.setattr(api, "MAX_ANSWER_BYTES", 100_000)
    session = _Session()
    with pytest.raises(api.PlanError, match="answer over 100,000 bytes"):
        api.get_json(session, "http://127.0.0.1/x", HttpSettings(max_retries=0))
    assert session.responses[0].read <= 100_000 + 64 * 1024
