"""The API server's worker thread: the one owner of the model and the Engine (the event loop never
runs a forward pass). It takes every waiting job up to a batch of rows, decodes them together, and
lets jobs that arrive meanwhile join between two steps (continuous batching), so concurrent clients
share each forward pass; a cancelled job's rows are dropped before the next step.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Optional

from london_llm.inference.server_errors import APIError
from london_llm.inference.server_jobs import Job, JobQueue

# the server's one logger: serve_cli gives it its file and level
log = logging.getLogger("london_llm.inference.server")


class Worker:
    """The thread that owns the Engine: takes queued jobs, decodes them in one batch, and lets jobs that
    arrive meanwhile join that batch between two steps (continuous batching); reports events."""

    def __init__(self, engine, *, queue_size: int = 64, max_batch_rows: int = 32, gather_s: float = 0.003):
        self.engine = engine
        self.jobs = JobQueue(queue_size)
        self.max_batch_rows = max(1, max_batch_rows)
        self.gather_s = gather_s
        self.running_rows = 0
        self.peak_rows = 0  # the most rows one forward pass has carried
        self.batches = 0
        self._inflight: list[Job] = []
        self._carry: Optional[Job] = None
        self._thread = threading.Thread(target=self._run, name="inference-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        try:
            self.jobs.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=5)

    def submit(self, job: Job) -> None:
        job.on_abandon = self.jobs.discard
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            raise APIError(429, f"the server is busy: {self.jobs.maxsize} requests are already waiting; "
                                "retry shortly", type="rate_limit_error", code="queue_full") from None

    def _next_batch(self) -> Optional[list[Job]]:
        """Block for the first job, then take what else arrives within `gather_s` (it shares the prefill)."""
        first = self._carry if self._carry is not None else self.jobs.get()
        self._carry = None
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.gather_s
        free = self.max_batch_rows - first.rows
        while free > 0:
            try:
                job = self.jobs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                self.jobs.put(None)
                break
            if job.rows > free:
                self._carry = job
                break
            batch.append(job)
            free -= job.rows
        return batch

    def _admit(self, free_rows: int) -> list:
        """Jobs waiting now that fit in `free_rows`: they join the running batch at the next step."""
        out = []
        while free_rows > 0:
            if self._carry is not None:
                job, self._carry = self._carry, None
            else:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
            if job is None:  # stopping: let the running batch finish, then _run sees the sentinel
                self.jobs.put(None)
                break
            if job.cancel.is_set():
                job.send(("done", None, None))
                continue
            if job.rows > free_rows:
                self._carry = job
                break
            self._inflight.append(job)
            out += job.requests
            free_rows -= job.rows
        return out

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            for j in batch:
                if j.cancel.is_set():
                    j.send(("done", None, None))
            live = [j for j in batch if not j.cancel.is_set()]
            if not live:
                continue
            self._inflight = list(live)
            self.batches += 1
            try:
                for rows in self.engine.steps([r for j in live for r in j.requests], admit=self._admit,
                                              max_rows=self.max_batch_rows):
                    self.running_rows = rows
                    self.peak_rows = max(self.peak_rows, rows)
                    for j in self._inflight:
                        j.flush()
            except Exception as exc:  # noqa: BLE001 - one bad batch must not kill the server
                log.exception("generation failed")
                for j in self._inflight:
                    j.send(("error", None, f"generation failed: {type(exc).__name__}: {exc}"))
                    j.send(("done", None, None))
            finally:
                for j in self._inflight:
                    j.flush()
                self.running_rows = 0
                self._inflight = []
