"""One live training run per output folder.

The lock is a file in the output folder holding an exclusive `flock` for as long as the run
lives; the kernel drops it when the process dies, however it dies. A lock file whose flock is
free was left by a dead run: it is taken over, with a message naming the old process.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Callable, Optional

from london_llm.errors import LondonLLMError

LOCK_NAME = "training.lock"


class RunLocked(LondonLLMError, RuntimeError):
    """Another live process holds the lock."""


class RunLock:
    def __init__(self, folder: Path, log: Callable[[str], None] = print):
        self.path = Path(folder) / LOCK_NAME
        self.log = log
        self._fh = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fh = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fh)
                fh.close()
                raise RunLocked(
                    f"Another training run is writing to {self.path.parent} ({_who(holder)}). "
                    f"Stop it first (kill {holder.get('pid', '<pid>')}) or choose another --output_dir.") from None
            if _same_file(fh, self.path):
                break
            # The holder released (and unlinked) the file between our open and our flock: the lock we
            # got is on a file nobody else will ever open, so try again on the one at the path now.
            fh.close()
        previous = _read(fh)
        if previous:
            self.log(f"Taking over a stale lock {self.path} left by a process that is no longer running "
                     f"({_who(previous)}).")
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}))
        fh.flush()
        os.fsync(fh.fileno())
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fh, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _read(fh) -> dict:
    fh.seek(0)
    text = fh.read()
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"unreadable": text[:80]}


def _who(holder: Optional[dict]) -> str:
    if not holder:
        return "owner unknown"
    if "unreadable" in holder:
        return "unreadable lock contents"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {started}"
