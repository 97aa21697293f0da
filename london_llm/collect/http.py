"""A polite HTTP client: urllib3 Retry with exponential backoff, Retry-After, per-host rate limit.

urllib3 retries what fails before a response body starts (resets, 5xx, 429, honouring
Retry-After up to a cap). What fails while the body streams (a reset or a stall mid-file, a
truncated body) is retried by `fetch.download`, which resumes the partial file with Range.

A host that cannot be connected to at all (its name does not resolve, it refuses the connection,
or the connection attempt times out) is not retried: it is marked down for the rest of the run
(`HostHealth`), and every later request to it fails at once with `HostUnreachable`. An offline
machine so learns in one attempt per host, not one backoff series per item.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from ..errors import LondonLLMError

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = ("LondonHistoricalLLM-collector/1.0 (research corpus of public-domain London texts 1500-1913; "
              "polite: rate-limited, resumes, honours Retry-After) python-requests/" + requests.__version__)


@dataclass(frozen=True)
class HttpSettings:
    timeout: float = 30.0  # seconds between bytes read
    connect_timeout: float = 10.0  # seconds to establish a connection (a host that takes longer is down)
    max_retries: int = 5  # per request (urllib3) and per file (fetch.download)
    backoff: float = 1.0  # exponential backoff factor: backoff * 2**(n-1) seconds
    backoff_max: float = 120.0
    retry_after_max: float = 600.0  # never wait longer than this for a server's Retry-After
    rate_limit: float = 1.0  # minimum seconds between requests to one host
    user_agent: str = USER_AGENT

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1-based), as urllib3 computes it."""
        return min(self.backoff_max, self.backoff * (2 ** (attempt - 1))) if self.backoff > 0 else 0.0


    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) as requests takes them."""
        return (min(self.connect_timeout, self.timeout), self.timeout)


# What urllib3 raises when no connection could be made: NameResolutionError and the refused
# connection are NewConnectionError, a connection attempt past the connect timeout ConnectTimeoutError.
CONNECT_FAILURES = (NewConnectionError, ConnectTimeoutError)


class HostUnreachable(LondonLLMError, requests.exceptions.ConnectionError):
    """A request to a host already marked down in this run (raised before anything is sent)."""

    def __init__(self, host: str, why: str, request=None):
        super().__init__(f"{host} could not be connected to earlier in this run ({why})", request=request)
        self.host = host


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def connect_failure(exc: BaseException) -> Optional[BaseException]:
    """The urllib3 connect failure inside a requests exception, if no connection was ever made."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return reason if isinstance(reason, CONNECT_FAILURES) else None


class HostHealth:
    """Hosts that could not be connected to in this run, shared by every worker thread."""

    def __init__(self):
        self._down: dict[str, str] = {}
        self._answered: set[str] = set()
        self._lock = threading.Lock()

    def mark_down(self, host: str, why: str) -> None:
        with self._lock:
            self._down.setdefault(host.lower(), why)

    def mark_up(self, host: str) -> None:
        with self._lock:
            self._answered.add(host.lower())

    def why_down(self, host: str) -> Optional[str]:
        with self._lock:
            return self._down.get(host.lower())

    def down(self, hosts) -> Optional[str]:
        """The first of `hosts` that is down, or None."""
        with self._lock:
            return next((h for h in sorted(hosts) if h.lower() in self._down), None)

    @property
    def down_hosts(self) -> dict[str, str]:
        with self._lock:
            return dict(self._down)

    @property
    def answered(self) -> set[str]:
        with self._lock:
            return set(self._answered)


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
    def __init__(self, limiter: Optional[HostRateLimiter], health: Optional[HostHealth] = None, **kwargs):
        self._limiter = limiter
        self._health = health
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        host = host_of(request.url)
        if self._health is not None:
            why = self._health.why_down(host)
            if why:
                raise HostUnreachable(host, why, request=request)
        if self._limiter is not None:
            self._limiter.wait(request.url)
        try:
            response = super().send(request, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            failure = connect_failure(exc)
            if failure is not None and self._health is not None:
                self._health.mark_down(host, _describe(failure))
            raise
        if self._health is not None:
            self._health.mark_up(host)
        return response


def _describe(failure: BaseException) -> str:
    text = str(failure)
    for marker in ("Failed to resolve", "Connection refused", "timed out", "Network is unreachable",
                   "No route to host"):
        if marker.lower() in text.lower():
            return {"Failed to resolve": "name does not resolve"}.get(marker, marker.lower())
    return type(failure).__name__


class ConnectOnceRetry(Retry):
    """urllib3 Retry that gives up at once when no connection can be made (see the module doc)."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if error is not None and isinstance(error, CONNECT_FAILURES):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry(settings: HttpSettings) -> Retry:
    return ConnectOnceRetry(
        total=settings.max_retries, connect=settings.max_retries, read=settings.max_retries,
        status=settings.max_retries, other=0, redirect=10,
        backoff_factor=settings.backoff, backoff_max=settings.backoff_max,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True, retry_after_max=int(settings.retry_after_max),
        raise_on_status=False,  # hand the last 5xx/429 back: fetch.download reports it per item
    )


def make_session(settings: HttpSettings, limiter: Optional[HostRateLimiter] = None,
                 health: Optional[HostHealth] = None) -> requests.Session:
    """A requests session with retries, backoff, the rate limiter, the run's host health and a
    descriptive User-Agent."""
    session = requests.Session()
    adapter = _RateLimitedAdapter(limiter, health, max_retries=make_retry(settings), pool_maxsize=8)
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
        self.health = HostHealth()
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = make_session(self.settings, self.limiter, self.health)
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for s in self._all:
                s.close()
            self._all.clear()


__all__ = ["HttpSettings", "HostHealth", "HostUnreachable", "HostRateLimiter", "SessionPool", "make_session", "make_retry", "USER_AGENT"]
