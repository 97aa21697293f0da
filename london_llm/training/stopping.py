"""How a training run is asked to stop, whatever stops it: every way ends in one checkpoint-and-exit.

SIGTERM (a scheduler, `kill`, torchrun's own shutdown), SIGINT (Ctrl-C) and SIGHUP (a closed
terminal or ssh session; torchrun passes it on) set one flag; the loop finishes its step, saves
and leaves (on a slow step the last completed one is saved at once as well: training.stopwatch,
training.midstep). A console that goes away (`| tee` killed: a broken pipe; a closed terminal: EIO) is
one more such request: the dead stream is pointed at /dev/null so no later write can kill the
run, and the log file goes on. Before the loop starts there is nothing to save, so a signal then
ends the run at once (StopRequested), still through the normal exit path (the lock is released).

Under torchrun every worker gets each Ctrl-C twice (the terminal's, then torchrun's), so there a
second SIGINT never aborts; torchrun itself SIGKILLs workers that outlive its --shutdown_timeout.
"""
from __future__ import annotations

import errno
import os
import signal
import sys
import time
from typing import Callable, Optional

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SECOND_SIGINT_AFTER_S = 1.0  # a second Ctrl-C this long after the first aborts without saving


class StopRequested(Exception):
    """A stop signal arrived before training began: nothing to save, the run just ends."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"{reason} before training began: stopped, nothing to save")


class StopFlag:
    """The one stop request of a run: `reason` is None until something asks the run to stop."""

    def __init__(self, abort_on_second_sigint: bool = True):
        self.reason: Optional[str] = None
        self.armed = False  # False: a signal raises StopRequested at once (nothing to save yet)
        self.abort_on_second_sigint = abort_on_second_sigint
        self._first_at = 0.0
        self._previous: dict = {}

    @property
    def signal_name(self) -> Optional[str]:  # the older name of `reason`
        return self.reason

    def install(self) -> "StopFlag":
        for sig in STOP_SIGNALS:
            if sig not in self._previous:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def arm(self) -> None:
        """From here on a stop is a request to save at the end of the current step."""
        self.armed = True

    def request(self, reason: str, from_watcher: bool = False) -> None:
        """Record the stop. training.stopwatch records a signal before this thread's handler sees
        it (maybe long before, after a long C++ call): that must not count as a first Ctrl-C."""
        if self.reason is None:
            self.reason = reason
        if not from_watcher and not self._first_at:
            self._first_at = time.monotonic()

    def _handle(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if not self.armed:
            raise StopRequested(f"{name} received")
        if (self._first_at and signum == signal.SIGINT and self.abort_on_second_sigint
                and time.monotonic() - self._first_at > SECOND_SIGINT_AFTER_S):
            raise KeyboardInterrupt
        self.request(f"{name} received")

    def __enter__(self) -> "StopFlag":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()


class _GuardedStream:
    """A text stream whose writes never raise for a closed pipe or a gone terminal."""

    def __init__(self, stream, name: str, on_closed: Callable[[str], None]):
        self._stream = stream
        self._name = name
        self._on_closed = on_closed
        self._gone = False

    def _lost(self, exc: OSError) -> None:
        if not self._gone:
            self._gone = True
            try:  # what is still buffered, and every later write, goes to /dev/null
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass
            what = "broken pipe" if exc.errno == errno.EPIPE else os.strerror(exc.errno or errno.EIO)
            self._on_closed(f"{self._name} closed ({what})")

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.EIO, errno.ENXIO, errno.ECONNRESET):
                raise
            self._lost(exc)
        except ValueError:  # closed underneath us
            pass
        return None

    def write(self, text: str) -> int:
        if self._gone:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                return len(text)
        written = self._guarded(self._stream.write, text)
        return len(text) if written is None else written

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guard_console(on_closed: Callable[[str], None]) -> None:
    """Wrap sys.stdout and sys.stderr so a closed console calls `on_closed(reason)` once per stream
    instead of raising (BrokenPipeError, EIO) wherever the next write happens to be."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _GuardedStream):
            setattr(sys, name, _GuardedStream(stream, name, on_closed))
