"""A request's job in the API server: its GenerationRequests (one per prompt), the events the worker
thread sends back to the event loop, the switch that cancels it, and the bounded queue it waits in.

Built off the event loop (`build_job`: tags, encoding, the context check), run by server_worker,
answered by server_responses.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from london_llm.inference.errors import ContextOverflowError, InferenceError
from london_llm.inference.server_errors import APIError


@dataclass(eq=False)  # a job is itself: the queue finds it by identity
class Job:
    """One HTTP request: one GenerationRequest per prompt, events for the event loop, a cancel switch."""
    requests: list  # GenerationRequest, each with the job's cancel event
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue
    cancel: threading.Event = field(default_factory=threading.Event)
    rows: int = 0
    finished: int = 0
    on_abandon: Optional[Callable[["Job"], Any]] = None  # the queue's discard, set when the job is queued

    def abandon(self) -> None:
        """The client is gone or answered: stop its rows, and if it is still waiting, free its place at once."""
        self.cancel.set()
        if self.on_abandon is not None:
            self.on_abandon(self)

    def row_finished(self, index: int, completion) -> None:
        """Called by the worker as each row ends; the last one closes the job."""
        self.send(("finish", index, completion))
        self.finished += 1
        if self.finished == self.rows:
            self.send(("done", None, None))

    pending: list = field(default_factory=list)

    def send(self, event: tuple) -> None:
        """Queue an event (worker thread); `flush` hands the step's events to the event loop at once."""
        self.pending.append(event)
        if event[0] in ("done", "error"):
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        events, self.pending = self.pending, []
        try:  # one wake-up of the event loop per job and step, not one per token
            self.loop.call_soon_threadsafe(self._deliver, events)
        except RuntimeError:  # the loop is closed: the server is shutting down
            self.cancel.set()

    def _deliver(self, events: list) -> None:
        for event in events:
            self.events.put_nowait(event)


class JobQueue:
    """The bounded queue of waiting jobs (a deque under one condition). A job abandoned while it waits
    leaves it at once, so a client that hung up no longer holds a place that would turn others away
    with 429 until the worker reached it. `None` (the stop sentinel) is never refused."""

    def __init__(self, maxsize: int):
        self.maxsize = max(1, maxsize)
        self._items: deque = deque()
        self._cond = threading.Condition()

    def qsize(self) -> int:
        with self._cond:
            return len(self._items)

    def put_nowait(self, job: Optional[Job]) -> None:
        with self._cond:
            if job is not None and len(self._items) >= self.maxsize:
                raise queue.Full
            self._items.append(job)
            self._cond.notify()

    put = put_nowait  # only the sentinel is put back, and it is never refused

    def get(self, timeout: Optional[float] = None) -> Optional[Job]:
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout):
                raise queue.Empty
            return self._items.popleft()

    def get_nowait(self) -> Optional[Job]:
        return self.get(timeout=0)

    def discard(self, job: Job) -> None:
        with self._cond:
            try:
                self._items.remove(job)
            except ValueError:  # already taken by the worker, which drops cancelled rows itself
                pass


def build_job(engine, req: dict, loop) -> Job:
    """GenerationRequests for the body's prompts (tags, encoding, context check): run off the event loop."""
    from london_llm.inference.prompts import build_prompt
    from london_llm.inference.sampling import SamplingParams

    params = SamplingParams(max_new_tokens=req["max_tokens"], temperature=req["temperature"], top_k=req["top_k"],
                            top_p=req["top_p"], min_p=req["min_p"], repetition_penalty=req["repetition_penalty"],
                            greedy=req["greedy"], seed=req["seed"], stop=tuple(req["stop"]))
    job = Job(requests=[], loop=loop, events=asyncio.Queue())
    n = req["n"]
    try:
        for p_index, text in enumerate(req["prompts"]):
            prompt = build_prompt(text, kind=req["kind"], period=req["period"], year=req["year"],
                                  known_tags=engine.loaded.conditioning_tags)
            base = p_index * n

            def on_text(i, delta, _base=base):
                job.send(("text", _base + i, delta))

            def on_finish(i, completion, _base=base):
                job.row_finished(_base + i, completion)

            job.requests.append(engine.request(prompt, params, n, on_text=on_text, cancel=job.cancel,
                                               on_finish=on_finish))
    except ContextOverflowError as exc:
        raise APIError(400, str(exc), param="max_tokens", code="context_length_exceeded") from None
    except InferenceError as exc:
        param = next((k for k in ("kind", "period", "year", "stop", "seed", "top_p", "top_k", "min_p",
                                  "temperature", "repetition_penalty") if k in str(exc)), None)
        raise APIError(400, str(exc), param=param, code="invalid_value") from None
    job.rows = n * len(job.requests)
    return job
