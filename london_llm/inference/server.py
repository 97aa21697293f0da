"""An OpenAI-compatible completions API (06_inference/serve.py): FastAPI on uvicorn.

One worker thread owns the model and the Engine; the event loop never runs a forward pass. Requests
wait in a bounded queue (429 when full); the worker takes every waiting request (up to a batch of
rows) and decodes them together, so concurrent clients share each forward pass. Streamed text goes
from the worker to the request's asyncio queue; a client that goes away sets its cancel event, and
the worker drops its rows before the next decoding step. Every bad request gets a 4xx answer in
OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}.

    POST /v1/completions   GET /v1/models   GET /health (503 until the model is loaded)   GET /metrics
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from london_llm.inference.errors import ContextOverflowError, InferenceError

log = logging.getLogger("london_llm.inference.server")

MAX_BODY_BYTES = 1_000_000
MAX_PROMPTS = 16
DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
_UNSUPPORTED = {"logprobs": None, "suffix": None, "echo": False, "best_of": None,
                "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": None}
_KNOWN = {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "n",
          "stop", "seed", "stream", "stream_options", "user", "kind", "period", "year", "greedy", *_UNSUPPORTED}


class APIError(Exception):
    """An answer other than 200, in OpenAI's error envelope."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: Optional[str] = None, code: Optional[str] = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


# --- the worker thread ---------------------------------------------------------------------------

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


# --- request parsing --------------------------------------------------------------------------------

def _number(body: dict, name: str, default, *, integer: bool = False, lo=None, hi=None, allow_none: bool = True):
    value = body.get(name, default)
    if value is None:
        if allow_none:
            return default
        raise APIError(400, f"{name} must not be null", param=name, code="invalid_type")
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or (not integer and not math.isfinite(value)):
        kind = "an integer" if integer else "a number"
        raise APIError(400, f"{name} must be {kind}, not {json.dumps(value)[:50]}", param=name, code="invalid_type")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise APIError(400, f"{name}={value} is out of range [{lo}, {hi}]", param=name, code="invalid_value")
    return value


def parse_completion_request(body: Any, model_id: str) -> dict:
    """The checked fields of a /v1/completions body; APIError (400/404) naming the field otherwise."""
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_json")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise APIError(400, f"unknown field(s): {', '.join(unknown)}", param=unknown[0], code="unknown_parameter")
    for name, neutral in _UNSUPPORTED.items():
        if name in body and body[name] not in (neutral, None) and not (name == "best_of" and body[name] == 1):
            raise APIError(400, f"{name} is not supported by this server", param=name, code="unsupported_parameter")
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or model != model_id):
        raise APIError(404, f"the model {model!r} does not exist; this server serves {model_id!r} "
                            "(GET /v1/models)", param="model", code="model_not_found")
    if "prompt" not in body:
        raise APIError(400, "prompt is required (a string or a list of strings)", param="prompt", code="missing")
    prompt = body["prompt"]
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise APIError(400, "prompt must be a string or a non-empty list of strings", param="prompt",
                       code="invalid_type")
    if len(prompts) > MAX_PROMPTS:
        raise APIError(400, f"at most {MAX_PROMPTS} prompts per request", param="prompt", code="invalid_value")
    stop = body.get("stop")
    stops = [] if stop is None else [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise APIError(400, "stop must be a string or a list of strings", param="stop", code="invalid_type")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise APIError(400, "stream must be true or false", param="stream", code="invalid_type")
    greedy = body.get("greedy", False)
    if not isinstance(greedy, bool):
        raise APIError(400, "greedy must be true or false", param="greedy", code="invalid_type")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise APIError(400, "stream_options must be an object", param="stream_options", code="invalid_type")
    for name in ("kind", "period"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise APIError(400, f"{name} must be a string", param=name, code="invalid_type")
    return {
        "prompts": prompts,
        "max_tokens": _number(body, "max_tokens", DEFAULT_MAX_TOKENS, integer=True, lo=1),
        "temperature": _number(body, "temperature", 1.0, lo=0, hi=100),
        "top_p": _number(body, "top_p", None, lo=0, hi=1),
        "top_k": _number(body, "top_k", None, integer=True, lo=0),
        "min_p": _number(body, "min_p", None, lo=0, hi=1),
        "repetition_penalty": _number(body, "repetition_penalty", 1.0, lo=0),
        "n": _number(body, "n", 1, integer=True, lo=1, hi=16),
        "seed": _number(body, "seed", None, integer=True, lo=0, hi=2**63 - 1),
        "stop": stops, "stream": stream, "greedy": greedy,
        "include_usage": bool(options.get("include_usage")),
        "kind": body.get("kind"), "period": body.get("period"),
        "year": _number(body, "year", None, integer=True),
    }


# --- the application ---------------------------------------------------------------------------------

class ServerState:
    """What the routes share: the loaded engine (None while loading), its worker, the API key."""

    def __init__(self, *, api_key: Optional[str], model_id: Optional[str], queue_size: int, max_batch_rows: int):
        self.api_key = api_key or None
        self.model_id = model_id
        self.queue_size = queue_size
        self.max_batch_rows = max_batch_rows
        self.engine = None
        self.worker: Optional[Worker] = None
        self.load_error: Optional[str] = None
        self.started = time.time()
        self.requests = 0
        self.rejected = 0

    def ready(self, engine) -> None:
        self.model_id = self.model_id or engine.loaded.path.name
        worker = Worker(engine, queue_size=self.queue_size, max_batch_rows=self.max_batch_rows)
        worker.start()
        self.worker = worker
        self.engine = engine


def create_app(state: ServerState, load: Optional[Callable[[], Any]] = None):
    """The FastAPI app. `load()` (run in a thread at start-up) returns the Engine; /health says 503 until then."""
    @asynccontextmanager
    async def lifespan(app):
        task = None
        if load is not None and state.engine is None:
            async def loader():
                try:
                    engine = await asyncio.to_thread(load)
                    state.ready(engine)
                    log.info("model loaded: %s", state.model_id)
                except InferenceError as exc:
                    state.load_error = str(exc)
                    log.error("ERROR: %s", exc)
                except Exception as exc:  # noqa: BLE001 - reported on /health and in the log
                    state.load_error = f"{type(exc).__name__}: {exc}"
                    log.exception("loading the model failed")
                if state.load_error and getattr(app.state, "on_load_error", None):
                    app.state.on_load_error(state.load_error)
            task = asyncio.create_task(loader())
        yield
        if task is not None:
            task.cancel()
        if state.worker is not None:
            await asyncio.to_thread(state.worker.stop)

    app = FastAPI(title="London Historical LLM", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)

    def error_response(exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(APIError)
    async def _api_error(request, exc: APIError):
        if exc.status in (400, 401, 404, 413, 429):
            state.rejected += 1
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc):
        return error_response(APIError(exc.status_code, str(exc.detail), code="not_found"
                                       if exc.status_code == 404 else None))

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # a bug: still an answer in the envelope, and a traceback in the log
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return error_response(APIError(500, f"internal error: {type(exc).__name__}", type="server_error"))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc):
        return error_response(APIError(400, f"invalid request: {exc.errors()[:1]}"))

    def check_key(request: Request) -> None:
        if state.api_key is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), state.api_key.encode()):
            raise APIError(401, "invalid or missing API key (send Authorization: Bearer KEY)",
                           type="authentication_error", code="invalid_api_key")

    def require_ready():
        if state.engine is None:
            raise APIError(503, "the model is still loading; retry when GET /health answers 200"
                           if state.load_error is None else f"the model failed to load: {state.load_error}",
                           type="server_unavailable", code="loading")
        return state.engine

    @app.get("/health")
    async def health():
        body = {"status": "ok" if state.engine is not None else ("error" if state.load_error else "loading"),
                "model": state.model_id, "tokens_generated": state.engine.tokens_generated if state.engine else 0,
                "queued": state.worker.jobs.qsize() if state.worker else 0,
                "running_rows": state.worker.running_rows if state.worker else 0,
                "peak_rows": state.worker.peak_rows if state.worker else 0,
                "uptime_s": round(time.time() - state.started, 1)}
        if state.engine is not None:
            body.update(state.engine.loaded.provenance())
            body["context_length"] = state.engine.context_length
        if state.load_error:
            body["error"] = state.load_error
        return JSONResponse(body, status_code=200 if state.engine is not None else 503)

    @app.get("/metrics")
    async def metrics():
        engine = state.engine
        lines = [f"london_llm_tokens_generated_total {engine.tokens_generated if engine else 0}",
                 f"london_llm_requests_total {state.requests}",
                 f"london_llm_requests_rejected_total {state.rejected}",
                 f"london_llm_queue_depth {state.worker.jobs.qsize() if state.worker else 0}",
                 f"london_llm_running_rows {state.worker.running_rows if state.worker else 0}",
                 f"london_llm_batches_total {state.worker.batches if state.worker else 0}",
                 f"london_llm_peak_rows {state.worker.peak_rows if state.worker else 0}"]
        return PlainTextResponse("\n".join(lines) + "\n")

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(request)
        engine = require_ready()
        lm = engine.loaded
        return {"object": "list", "data": [{
            "id": state.model_id, "object": "model", "created": int(state.started), "owned_by": "london-llm",
            "context_length": engine.context_length, "checkpoint": str(lm.path), "step": lm.step,
            "sha256": lm.sha256, "conditioning_tags": lm.conditioning_tags}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        check_key(request)
        engine = require_ready()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise APIError(413, f"the request body is over {MAX_BODY_BYTES:,} bytes", code="request_too_large")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise APIError(413, f"the request body is over {MAX_BODY_BYTES:,} bytes", code="request_too_large")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise APIError(400, f"the request body is not valid JSON ({exc})", code="invalid_json") from None
        req = parse_completion_request(body, state.model_id)
        state.requests += 1
        job = await asyncio.to_thread(build_job, engine, req, asyncio.get_running_loop())
        state.worker.submit(job)
        meta = {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": state.model_id,
                "system_fingerprint": (engine.loaded.sha256 or "")[:16] or None}
        if req["stream"]:
            return StreamingResponse(stream_events(job, req, meta), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await collect(job, req, meta, request)

    app.state.server_state = state
    return app


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


async def collect(job: Job, req: dict, meta: dict, request) -> Any:
    """Wait for every choice (watching for the client going away), then answer in one JSON body."""
    finished: dict[int, Any] = {}
    try:
        while True:
            try:
                kind, index, payload = await asyncio.wait_for(job.events.get(), timeout=0.5)
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    job.abandon()
                    return JSONResponse({}, status_code=499)
                continue
            if kind == "finish":
                finished[index] = payload
            elif kind == "error":
                raise APIError(500, payload, type="server_error", code="generation_failed")
            elif kind == "done":
                break
    finally:
        job.abandon()  # after the answer, or on cancellation: nothing more to compute
    choices = [{"text": c.text, "index": i, "logprobs": None, "finish_reason": _reason(c)}
               for i, c in sorted(finished.items())]
    prompt_tokens = sum(len(r.prompt_ids) for r in job.requests)
    completion_tokens = sum(c.completion_tokens for c in finished.values())
    return JSONResponse({"object": "text_completion", **meta, "choices": choices,
                         "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                   "total_tokens": prompt_tokens + completion_tokens},
                         })


def _reason(completion) -> str:
    return "stop" if completion.finish_reason == "stop" else "length"


async def stream_events(job: Job, req: dict, meta: dict):
    """Server-sent events: a chunk per text piece, a chunk with each choice's finish_reason, usage if asked,
    then `data: [DONE]`. Cancelled (client gone) -> the job's cancel event stops its rows."""
    def chunk(choices, usage=None) -> str:
        body = {"object": "text_completion", **meta, "choices": choices}
        if usage is not None:
            body["usage"] = usage
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    completion_tokens = 0
    try:
        finished = False
        while not finished:
            events = [await job.events.get()]
            while not job.events.empty():  # a client that lags gets what is ready in fewer, larger chunks
                events.append(job.events.get_nowait())
            out: list[str] = []
            text_index, text = None, []
            for kind, index, payload in events:
                if kind == "text" and index == text_index:
                    text.append(payload)
                    continue
                if text:
                    out.append(chunk([{"text": "".join(text), "index": text_index, "logprobs": None,
                                       "finish_reason": None}]))
                    text_index, text = None, []
                if kind == "text":
                    text_index, text = index, [payload]
                elif kind == "finish":
                    completion_tokens += payload.completion_tokens
                    out.append(chunk([{"text": "", "index": index, "logprobs": None,
                                       "finish_reason": _reason(payload)}]))
                elif kind == "error":
                    out.append(f"data: {json.dumps(APIError(500, payload, type='server_error').body())}\n\n")
                    finished = True
                    break
                elif kind == "done":
                    finished = True
                    break
            if text:
                out.append(chunk([{"text": "".join(text), "index": text_index, "logprobs": None,
                                   "finish_reason": None}]))
            if out:
                yield "".join(out)
        if req["include_usage"]:
            prompt_tokens = sum(len(r.prompt_ids) for r in job.requests)
            yield chunk([], {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens})
        yield "data: [DONE]\n\n"
    finally:
        job.abandon()  # a client that went away (the response task is cancelled) stops its rows


# --- running it -------------------------------------------------------------------------------------------

def serve(load: Callable[[], Any], *, host: str = "127.0.0.1", port: int = 8000, api_key: Optional[str] = None,
          model_id: Optional[str] = None, queue_size: int = 64, max_batch_rows: int = 32,
          log_level: str = "info") -> int:
    """Run the API until interrupted; the model loads in the background (GET /health: 503, then 200)."""
    import uvicorn

    state = ServerState(api_key=api_key, model_id=model_id, queue_size=queue_size, max_batch_rows=max_batch_rows)
    app = create_app(state, load)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    failed: list[str] = []

    def on_load_error(message: str) -> None:
        failed.append(message)
        server.should_exit = True

    app.state.on_load_error = on_load_error
    server.run()
    return 2 if failed else 0
