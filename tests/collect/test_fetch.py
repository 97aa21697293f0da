"""Retry-After as servers send it, malformed ones included: never an exception, at most the cap."""
from __future__ import annotations

from email.utils import formatdate
import time

from london_llm.collect.fetch import _retry_after


class _Response:
    def __init__(self, value):
        self.headers = {} if value is None else {"Retry-After": value}


def test_retry_after_seconds_dates_and_garbage():
    assert _retry_after(_Response("7"), 600) == 7.0
    assert _retry_after(_Response("100000"), 600) == 600
    assert 50 < _retry_after(_Response(formatdate(time.time() + 60, usegmt=True)), 600) <= 60
    assert _retry_after(_Response(None), 600) == 0.0
    for garbage in ("soon", "Wed, 99 Foo 2026 25:61:00 GMT", "-"):
        assert _retry_after(_Response(garbage), 600) == 0.0
