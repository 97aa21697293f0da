"""A polite HTTP client: urllib3 Retry with exponential backoff, Retry-After, per-host rate limit.

urllib3 retries what fails before a response body starts (connection errors, resets, 5xx, 429,
honouring Retry-After up to a cap). What fails while the body streams (a reset or a stall mid-file,
a truncated body) is retried by `fetch.download`, which resumes the partial file with Range.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = ("LondonHistoricalLLM-collector/1.0 (research corpus of public-domain London texts 1500-1913; "
              "polite: rate-limited, resumes, honours Retry-After) python-requests/" + requests.__version__)


@dataclass(frozen=True)
class HttpSettings:
    timeout: float = 30.0  # seconds to connect and between bytes read
    max_retries: int = 5  # per request (urllib3) and per file (fetch.download)
    backoff: float = 1.0  # exponential backoff factor: backoff * 2**(n-1) seconds
    backoff_max: float = 120.0
    retry_after_max: float = 600.0  # never wait longer than this for a server's Retry-After
    rate_limit: float = 1.0  # minimum seconds between requests to one host
    user_agent: str = USER_AGENT

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1-based), as urllib3 computes it."""
        return min(self.backoff_max, self.backoff * (2 ** (attempt - 1))) if self.backoff > 0 else 0.0


class HostRateLimiter:
    """At most one request per `interval` seconds to each host, shared by all worker threads."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = max(0.0, float(interval))
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self, url: str) -> float:
        """Block until this host may be asked again; returns the seconds waited."""
        if self.interval <= 0:
            return 0.0
        host = urlsplit(url).netloc.lower()
        with self._lock:  # reserve a slot, then sleep outside the lock
            now = self._clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


class _RateLimitedAdapter(HTTPAdapter):
    def __init__(self, limiter: Optional[HostRateLimiter], **kwargs):
        self._limiter = limiter
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if self._limiter is not None:
            self._limiter.wait(request.url)
        return super().send(request, **kwargs)


def make_retry(settings: HttpSettings) -> Retry:
    return Retry(
        total=settings.max_retries, connect=settings.max_retries, read=settings.max_retries,
        status=settings.max_retries, other=0, redirect=10,
        backoff_factor=settings.backoff, backoff_max=settings.backoff_max,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True, retry_after_max=int(settings.retry_after_max),
        raise_on_status=False,  # hand the last 5xx/429 back: fetch.download reports it per item
    )


def make_session(settings: HttpSettings, limiter: Optional[HostRateLimiter] = None) -> requests.Session:
    """A requests session with retries, backoff, the rate limiter and a descriptive User-Agent."""
    session = requests.Session()
    adapter = _RateLimitedAdapter(limiter, max_retries=make_retry(settings), pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept-Encoding"] = "identity"  # byte ranges and sizes refer to the stored file
    return session


class SessionPool:
    """One session per worker thread (requests.Session is not documented as thread-safe)."""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.limiter = HostRateLimiter(settings.rate_limit)
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = make_session(self.settings, self.limiter)
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for s in self._all:
                s.close()
            self._all.clear()


__all__ = ["HttpSettings", "HostRateLimiter", "SessionPool", "make_session", "make_retry", "USER_AGENT"]
