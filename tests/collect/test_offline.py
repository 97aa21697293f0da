"""Offline, the collector answers fast: a host whose name does not resolve, or that refuses the
connection, is tried once; its remaining work fails at once, and when no host answers the script
ends (well within 30 s, with the shipped registry's thousands of items and default network
settings) with the `--from-dir` and mirror advice."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror_server import MIRROR_PREFIXES, MirrorServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "02_data_collection" / "historical_data_collector.py"
LIMIT_S = 30.0


def _free_port() -> int:
    """A port nothing listens on (free a moment ago): connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flags(base: str) -> list[str]:
    return [arg for name, prefix in MIRROR_PREFIXES.items()
            for arg in (f"--{name.replace('_', '-')}-mirror", f"{base}/{prefix}")]


def _run(args: list[str], home: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_MIRROR")}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--home", str(home), "--no-progress", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    return proc, time.monotonic() - started


@pytest.mark.parametrize("base, why", [
    ("http://london-llm-mirror.invalid", "name does not resolve"),  # RFC 2606: .invalid never resolves
    (None, "connection refused"),
], ids=["unresolvable-name", "nothing-listening"])
def test_no_host_answers_so_the_script_ends_within_30_s_with_the_advice(tmp_path, base, why):
    """The shipped registry (every enabled source, default retries, backoff and timeouts) against a
    mirror that is not there: one message, exit 1, nothing half-written, inside 30 s."""
    base = base or f"http://127.0.0.1:{_free_port()}"
    proc, seconds = _run(_flags(base), tmp_path)
    assert seconds < LIMIT_S, (seconds, proc.stdout[-2000:], proc.stderr[-2000:])
    assert proc.returncode == 1, proc.stderr[-2000:]
    err = proc.stderr
    assert "no host answered" in err and "--from-dir" in err and "mirror" in err, err[-2000:]
    host = base.split("//", 1)[1]
    assert host in err and why in proc.stdout + err
    summary = json.loads((tmp_path / "data/london_historical/metadata/download_summary.json").read_text())
    assert summary["counts"]["downloaded"] == 0 and summary["counts"]["failed"] > 1000
    assert list(summary["hosts_down"]) == [host]
    # the host was asked once per thread at most, not once per item and retry: nearly every item's
    # reason is the fast one
    fast = [f for f in summary["failed"] if f["reason"].startswith(f"host {host} unreachable")]
    assert len(fast) >= summary["counts"]["failed"] - 8
    assert not list((tmp_path / "data").rglob("*.part"))
    assert not (tmp_path / "data/london_historical/london_historical_corpus_comprehensive.txt").exists()


def test_one_dead_host_does_not_stop_the_others(shared_corpus, tmp_path):
    """Gutenberg's mirror refuses connections, the rest answer: the others download and clean,
    the Gutenberg items fail at once with the reason, and the exit status is 0."""
    registry = tmp_path / "sources.json"
    common = {"licence": "public domain", "enabled": True}
    sources = [
        {"id": f"gutenberg_{n}", "kind": "gutenberg", "ebook": n, "title": f"Book {n}", "year": 1722,
         "date_range": [1722, 1722], "doc_kind": "book", "format": "gutenberg_txt"} for n in (376, 370, 6053)
    ] + [
        {"id": "old_bailey_sessions", "kind": "old_bailey", "series": "sessionsPapers",
         "ids": ["16740429", "17800112"], "title": "Old Bailey", "date_range": [1674, 1913],
         "doc_kind": "trial", "format": "oldbailey_tei"},
    ]
    registry.write_text(json.dumps({"format_version": 1, "sources": [{**common, **s} for s in sources]}))
    dead = f"http://127.0.0.1:{_free_port()}/gutenberg"
    with MirrorServer(shared_corpus) as server:
        flags = [a for a in server.mirror_flags()]
        flags[flags.index("--gutenberg-mirror") + 1] = dead
        proc, seconds = _run(["--registry", str(registry), "--rate-limit", "0", *flags], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert seconds < LIMIT_S + 60  # the cleaning of two sessions is most of it
    summary = json.loads((tmp_path / "data/london_historical/metadata/download_summary.json").read_text())
    assert summary["counts"] == {"downloaded": 2, "present": 0, "skipped": 0, "failed": 3}
    host = dead.split("//")[1].split("/")[0]
    assert all(host in f["reason"] for f in summary["failed"])
    assert f"could not connect to {host} (connection refused)" in proc.stdout
    assert "--from-dir" in proc.stdout
    assert (tmp_path / "data/london_historical/london_historical_corpus_comprehensive.txt").stat().st_size > 10_000
