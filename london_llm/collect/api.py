"""Small API answers (search pages, item metadata, catalogues): fetched whole, parsed, retried.

urllib3 retries connection failures, 5xx and 429 (see http.py); this layer also retries what it
cannot see: a body cut short, an HTML page served with 200, an answer that does not parse.
"""
from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any, Callable, Optional

import requests

from london_llm.collect.fetch import Unreachable, gave_up, retries_exhausted
from london_llm.collect.http import RETRY_STATUSES, HttpSettings
from london_llm.errors import LondonLLMError

MAX_ANSWER_BYTES = 64 * 1024 * 1024


class PlanError(LondonLLMError, RuntimeError):
    """A source could not be expanded into items (search or listing failed); message says why."""


class NothingToFetch(PlanError):
    """The item exists but has nothing we can use (an Internet Archive item without OCR text)."""


def get_json(session: requests.Session, url: str, settings: HttpSettings) -> Any:
    return get_parsed(session, url, settings, lambda data: json.loads(data.decode("utf-8-sig")))


def get_parsed(session: requests.Session, url: str, settings: HttpSettings, parse: Callable[[bytes], Any],
               accept: str = "application/json", sleep: Callable[[float], None] = time.sleep) -> Any:
    """GET and parse an answer, retrying what urllib3 cannot see: a body cut short, an HTML page with 200,
    an answer that does not parse (ValueError from `parse`)."""
    last = ""
    for attempt in range(1, settings.max_retries + 2):
        try:
            response = session.get(url, timeout=settings.timeouts, headers={"Accept": accept}, stream=True)
            with response:
                if response.status_code in (404, 410):
                    raise PlanError(f"{url}: HTTP {response.status_code}")
                if response.status_code in RETRY_STATUSES:  # urllib3 already retried these with backoff
                    raise PlanError(f"{url}: HTTP {response.status_code} after {settings.max_retries} retries")
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
                data = _read_bounded(response, url)
            return parse(data)
        except (requests.RequestException, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError too
            if isinstance(exc, requests.RequestException) and retries_exhausted(exc):
                error = gave_up(url, exc, settings)
                raise (error if isinstance(error, Unreachable) else PlanError(str(error))) from None
            last = f"{type(exc).__name__}: {exc}"
        if attempt <= settings.max_retries:
            sleep(settings.backoff_delay(attempt))
    raise PlanError(f"{url}: gave up after {settings.max_retries + 1} attempt(s): {last}")


def _read_bounded(response: requests.Response, url: str) -> bytes:
    """The body, read in chunks and abandoned once it passes MAX_ANSWER_BYTES (never held whole first)."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise PlanError(f"{url}: answer over {MAX_ANSWER_BYTES:,} bytes")
    chunks, total = [], 0
    for chunk in response.iter_content(64 * 1024):
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise PlanError(f"{url}: answer over {MAX_ANSWER_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def get_catalogue(session: requests.Session, url: str, key: str, settings: HttpSettings) -> dict[str, dict]:
    """Rows of a tab-separated catalogue by `key` column; an answer without that column is retried."""
    def parse(data: bytes) -> dict[str, dict]:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter="\t")
        if key not in (reader.fieldnames or []):
            raise ValueError(f"catalogue has no column {key!r} (got {str(reader.fieldnames)[:80]})")
        return {row[key]: row for row in reader if row.get(key)}
    return get_parsed(session, url, settings, parse, accept="text/tab-separated-values")


class LazyCatalogue:
    """A catalogue fetched on first use, once for all worker threads."""

    def __init__(self, url: str, key: str, settings: HttpSettings):
        self.url, self.key, self.settings = url, key, settings
        self._rows: Optional[dict[str, dict]] = None
        self._lock = threading.Lock()

    def rows(self, session: requests.Session) -> dict[str, dict]:
        with self._lock:  # one fetch for all worker threads; a failure is retried by the next item
            if self._rows is None:
                self._rows = get_catalogue(session, self.url, self.key, self.settings)
            return self._rows
