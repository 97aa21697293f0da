"""london_llm.training.runlock: one live run per output folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from london_llm.training.runlock import RunLock, RunLocked


def test_run_lock_refuses_a_live_holder_and_takes_over_a_dead_ones(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from london_llm.training.runlock import RunLock
        lock = RunLock({str(tmp_path)!r}).acquire()  # held while this process lives
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    messages = []
    with RunLock(tmp_path, log=messages.append) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert messages and "stale lock" in messages[0] and str(holder.pid) in messages[0]
    assert not (tmp_path / "training.lock").exists()


def test_lock_taken_on_a_file_unlinked_meanwhile_is_retaken_on_the_live_path(tmp_path, monkeypatch):
    """A releasing holder unlinks the file; a flock won on that orphan must not count as the lock."""
    import london_llm.training.runlock as runlock
    lock = RunLock(tmp_path, log=lambda _m: None)
    real_flock = runlock.fcntl.flock
    orphaned = []

    def flock_after_unlink(fd, op):
        if not orphaned:  # first attempt: the previous holder unlinks the file before our flock lands
            orphaned.append(fd)
            lock.path.unlink()
        return real_flock(fd, op)

    monkeypatch.setattr(runlock.fcntl, "flock", flock_after_unlink)
    lock.acquire()
    assert lock.path.exists() and os.path.samestat(os.fstat(lock._fh.fileno()), os.stat(lock.path))
    with pytest.raises(RunLocked):  # and it really excludes a second run
        RunLock(tmp_path).acquire()
    lock.release()


def test_lock_with_foreign_json_is_reported_not_raised(tmp_path):
    (tmp_path / "training.lock").write_text("[1, 2, 3]")
    messages = []
    with RunLock(tmp_path, log=messages.append):
        pass
    assert messages and "unreadable lock contents" in messages[0]
