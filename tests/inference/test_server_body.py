"""The API's request is bounded: a chunked body (no Content-Length) over the limit is refused with 413
after reading just past the limit, never held whole in memory first; stop strings (matched at every
decoding step of the worker every request shares) are bounded in number and length."""
from __future__ import annotations

import asyncio
import json

from london_llm.inference import server

CHUNK = 64 * 1024


def _post(app, chunks: int, headers=()) -> tuple[int, dict, int]:
    """POST /v1/completions with `chunks` chunks of CHUNK bytes, chunked; (status, body, chunks read)."""
    sent = {"n": 0}
    out: dict = {"body": b""}

    async def receive():
        if sent["n"] >= chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent["n"] += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/completions", "raw_path": b"/v1/completions", "query_string": b"",
             "root_path": "", "headers": [(b"transfer-encoding", b"chunked"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
    asyncio.run(app(scope, receive, send))
    return out["status"], json.loads(out["body"]), sent["n"]


def _app():
    state = server.ServerState(api_key=None, model_id="m", queue_size=1, max_batch_rows=1)
    state.engine = object()  # "loaded": the body is read before the engine is used
    return server.create_app(state)


def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all():
    total_chunks = 4 * server.MAX_BODY_BYTES // CHUNK  # 4 MB offered
    status, body, read = _post(_app(), total_chunks)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert read <= server.MAX_BODY_BYTES // CHUNK + 1, f"read {read} of {total_chunks} chunks before refusing"


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    status, body, read = _post(_app(), 40, headers=[(b"content-length", str(server.MAX_BODY_BYTES + 1).encode())])
    assert status == 413 and read == 0


def test_stop_strings_are_bounded_in_number_and_length():
    import pytest

    from london_llm.inference.server_errors import APIError
    from london_llm.inference.server_requests import MAX_STOP_CHARS, MAX_STOPS, parse_completion_request

    assert parse_completion_request({"prompt": "a", "stop": ["x"] * MAX_STOPS}, "m")["stop"] == ["x"] * MAX_STOPS
    for stop in (["x"] * (MAX_STOPS + 1), "y" * (MAX_STOP_CHARS + 1)):
        with pytest.raises(APIError) as raised:
            parse_completion_request({"prompt": "a", "stop": stop}, "m")
        assert raised.value.status == 400 and "stop strings" in str(raised.value.body())
