"""An OpenAI-compatible completions API (06_inference/serve.py): FastAPI on uvicorn.

One worker thread owns the model and the Engine; the event loop never runs a forward pass. Requests
wait in a bounded queue (429 when full); the worker takes every waiting request (up to a batch of
rows) and decodes them together, so concurrent clients share each forward pass. Streamed text goes
from the worker to the request's asyncio queue; a client that goes away sets its cancel event, and
the worker drops its rows before the next decoding step. Every bad request gets a 4xx answer in
OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}.

    POST /v1/completions   GET /v1/models   GET /health (503 until the model is loaded)   GET /metrics

This module is the app (its state, routes and error handlers) and its running; beside it:
server_errors (APIError), server_requests (the body checked), server_jobs (a request's job and the
queue), server_worker (the thread) and server_responses (JSON or server-sent events).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Callable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from london_llm.inference.errors import InferenceError
from london_llm.inference.server_errors import APIError
from london_llm.inference.server_jobs import build_job
from london_llm.inference.server_requests import parse_completion_request
from london_llm.inference.server_responses import collect, stream_events
from london_llm.inference.server_worker import Worker

# the server's one logger (server_worker logs to it too): serve_cli gives it its file and level
log = logging.getLogger("london_llm.inference.server")

MAX_BODY_BYTES = 1_000_000


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read as it arrives and refused (413) once past `limit`: a chunked body declares
    no length, and `request.body()` would hold all of it in memory before it could be measured."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise APIError(413, f"the request body is over {limit:,} bytes", code="request_too_large")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise APIError(413, f"the request body is over {limit:,} bytes", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


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
        raw = await read_body(request)
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
