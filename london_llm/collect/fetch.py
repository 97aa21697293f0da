"""One resumable, verified, atomic download.

The body streams into a hidden partial file beside the target (`.NAME.part`). A failure mid-body
keeps the partial file, and the next attempt (or the next run) asks for the rest with
`Range: bytes=N-`; a server that ignores Range answers 200 and the file starts again. Only when
the body is complete, its size and md5 match what the source publishes, and it passes the text
checks is it renamed to its final name. The caller writes the sidecar after that.
"""
from __future__ import annotations

import email.utils
import glob
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import MaxRetryError

from london_llm.collect.http import RETRY_STATUSES, HostUnreachable, HttpSettings, connect_failure
from london_llm.collect.textcheck import LicenceRefused, NotText, check_file
from london_llm.errors import LondonLLMError

CHUNK = 1 << 16
DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # no single text we collect comes near this
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_GONE = (401, 403, 404, 410, 451)


class DownloadError(LondonLLMError, RuntimeError):
    """This item could not be fetched; the message says why and what was tried."""


class Unreachable(DownloadError):
    """The host could not be connected to at all, after every retry (network down, wrong mirror)."""

    def __init__(self, message: str, host: str):
        super().__init__(message)
        self.host = host


class NotFound(DownloadError):
    """The server says the file does not exist (try the next candidate URL)."""


class _Retry(Exception):
    def __init__(self, reason: str, wait: float = 0.0, restart: bool = False):
        super().__init__(reason)
        self.wait, self.restart = wait, restart


@dataclass(frozen=True)
class Downloaded:
    url: str
    path: Path
    bytes: int
    md5: str
    sha256: str
    attempts: int
    resumed: bool


def partial_path(final: Path, url: str) -> Path:
    """Hidden partial file for `final` as fetched from `url` (bytes of two URLs never mix)."""
    tag = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return final.with_name(f".{final.name}.{tag}.part")


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".validator")


def drop_partial(part: Path) -> None:
    part.unlink(missing_ok=True)
    _validator_path(part).unlink(missing_ok=True)


def _validator(response: requests.Response) -> Optional[str]:
    """A strong ETag, else Last-Modified: sent back as If-Range so a changed file is never spliced."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def retries_exhausted(exc: BaseException) -> bool:
    """True when requests raised because urllib3 used up its retries (MaxRetryError inside), or
    gave up at once because the host cannot be connected to."""
    return isinstance(exc, HostUnreachable) or (bool(exc.args) and isinstance(exc.args[0], MaxRetryError))


def gave_up(url: str, exc: BaseException, settings: HttpSettings) -> DownloadError:
    """The error for a request urllib3 retried in vain: Unreachable when no connection was ever made
    (not retried: see http.py)."""
    host = urlsplit(url).netloc
    if isinstance(exc, HostUnreachable):
        return Unreachable(f"{url}: {exc}", exc.host)
    failure = connect_failure(exc)
    if failure is not None:
        return Unreachable(f"{url}: could not connect to {host} ({failure})", host)
    return DownloadError(f"{url}: {exc.args[0].reason!r} after {settings.max_retries} retries")


def _retry_after(response: requests.Response, cap: float) -> float:
    value = response.headers.get("Retry-After")
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):  # neither seconds nor an HTTP date: no advice, plain backoff
            return 0.0
        seconds = parsed.timestamp() - time.time()
    return max(0.0, min(cap, seconds))


def file_digests(path: Path) -> tuple[str, str, int]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            md5.update(block)
            sha.update(block)
            size += len(block)
    return md5.hexdigest(), sha.hexdigest(), size


def _fetch_once(session: requests.Session, url: str, part: Path, settings: HttpSettings,
                max_bytes: int) -> bool:
    """One request appending to (or restarting) `part`; True when the body arrived whole."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    validator_file = _validator_path(part)
    if have and validator_file.exists():  # the server sends the whole file (200) if it has changed
        headers["If-Range"] = validator_file.read_text(encoding="utf-8").strip()
    try:
        response = session.get(url, stream=True, timeout=settings.timeouts, headers=headers)
    except requests.RequestException as exc:
        if retries_exhausted(exc):  # urllib3 already retried with backoff: retrying again would square it
            raise gave_up(url, exc, settings) from None
        raise _Retry(f"{type(exc).__name__}: {exc}") from None
    with response:
        status = response.status_code
        if status in _GONE:
            raise NotFound(f"HTTP {status} for {url}")
        if status == 416 and have:  # asked past the end: the partial file is wrong, start again
            raise _Retry("HTTP 416 for a resumed range", restart=True)
        if status in RETRY_STATUSES:  # urllib3 already retried these, honouring Retry-After
            raise DownloadError(f"HTTP {status} for {url} after {settings.max_retries} retries")
        if status >= 500:
            raise _Retry(f"HTTP {status}", wait=_retry_after(response, settings.retry_after_max))
        if status not in (200, 206):
            raise DownloadError(f"HTTP {status} for {url}")
        mode = "wb"
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != have:
                raise _Retry("server answered a different byte range", restart=True)
            mode = "ab"
            expected_total = None if match.group(3) == "*" else int(match.group(3))
        else:
            have = 0  # 200: the whole body again (server ignored Range, or the file changed)
            length = response.headers.get("Content-Length")
            expected_total = int(length) if length and length.isdigit() else None
            validator = _validator(response)
            if validator:
                validator_file.write_text(validator, encoding="utf-8")
            else:
                validator_file.unlink(missing_ok=True)
        if expected_total is not None and expected_total > max_bytes:
            raise DownloadError(f"{url} is {expected_total:,} bytes, over the {max_bytes:,}-byte limit")
        written = have
        try:
            with open(part, mode) as fh:
                for chunk in response.iter_content(CHUNK):
                    fh.write(chunk)
                    written += len(chunk)
                    if written > max_bytes:
                        raise DownloadError(f"{url} exceeded the {max_bytes:,}-byte limit")
                fh.flush()
                os.fsync(fh.fileno())
        except requests.RequestException as exc:  # reset, stall or truncation mid-body: resume later
            raise _Retry(f"interrupted after {written:,} bytes ({type(exc).__name__})") from None
        if expected_total is not None and written != expected_total:
            raise _Retry(f"body ended at {written:,} of {expected_total:,} bytes")
    return True


def download(session: requests.Session, urls: Sequence[str], final: Path, fmt: str, *,
             settings: HttpSettings, expected_size: Optional[int] = None, expected_md5: Optional[str] = None,
             max_bytes: int = DEFAULT_MAX_BYTES, sleep: Callable[[float], None] = time.sleep,
             log: Callable[[str], None] = lambda message: None,
             check: Optional[Callable[[Path, str], None]] = None) -> Downloaded:
    """Fetch the first of `urls` that exists into `final`, atomically. Raises DownloadError,
    NotFound (none of the URLs exists) or LicenceRefused (the text forbids our use).
    `check(path, url)` verifies the complete body (default: the text checks of format `fmt`)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    missing = []
    for url in urls:
        try:
            return _download_url(session, url, final, fmt, settings, expected_size, expected_md5,
                                 max_bytes, sleep, log, check)
        except NotFound as exc:
            missing.append(str(exc))
    raise NotFound("; ".join(missing) or "no URL to fetch")


def _download_url(session: requests.Session, url: str, final: Path, fmt: str, settings: HttpSettings,
                  expected_size: Optional[int], expected_md5: Optional[str], max_bytes: int,
                  sleep: Callable[[float], None], log: Callable[[str], None],
                  check: Optional[Callable[[Path, str], None]] = None) -> Downloaded:
    part = partial_path(final, url)
    resumed = part.exists() and part.stat().st_size > 0
    last = ""
    for attempt in range(1, settings.max_retries + 2):
        try:
            _fetch_once(session, url, part, settings, max_bytes)
            md5, sha256, size = file_digests(part)
            if expected_size is not None and size != expected_size:
                raise _Retry(f"size {size:,} differs from the published {expected_size:,}", restart=True)
            if expected_md5 and md5 != expected_md5.lower():
                raise _Retry(f"md5 {md5} differs from the published {expected_md5}", restart=True)
            try:
                if check is None:
                    check_file(part, fmt, what=url)
                else:
                    check(part, url)
            except NotText as exc:
                raise _Retry(str(exc), restart=True) from None
            os.replace(part, final)  # _fetch_once fsynced the bytes
            for stale in final.parent.glob(f".{glob.escape(final.name)}.*.part*"):
                stale.unlink(missing_ok=True)  # validators, partials of other candidate URLs
            return Downloaded(url, final, size, md5, sha256, attempt, resumed)
        except Unreachable:  # the network, not the file: keep the partial file for the next run
            raise
        except (NotFound, LicenceRefused, DownloadError):  # nothing worth resuming: drop the partial file
            drop_partial(part)
            raise
        except _Retry as exc:
            last = str(exc)
            if exc.restart:
                drop_partial(part)
            if attempt > settings.max_retries:
                break
            delay = max(exc.wait, settings.backoff_delay(attempt))
            log(f"{url}: {last}; retry {attempt}/{settings.max_retries} in {delay:.2f}s")
            sleep(delay)
    raise DownloadError(f"{url}: gave up after {settings.max_retries + 1} attempt(s): {last}")
