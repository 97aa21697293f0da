"""The server's bounded queue, with the real app on uvicorn and the real engine: a client that hangs up
while its request waits frees its place at once, so the next request is accepted instead of 429.

The worker is held at its first decoding step by a gate, so which request waits where is certain."""
from __future__ import annotations

import concurrent.futures
import json
import socket
import threading
import time

import httpx
import pytest

from inference_fixtures import tiny_checkpoint  # noqa: F401 - session fixture

pytestmark = pytest.mark.slow  # trains the session's tiny model on first use

BODY = {"prompt": "It was", "max_tokens": 4, "temperature": 1.0, "seed": 3}


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def raw_request(port: int, body: dict) -> socket.socket:
    """A completion request sent over a bare socket, so the test can hang up whenever it likes."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(data) + data)
    return sock


@pytest.fixture
def gated_server(tiny_checkpoint):  # noqa: F811
    import uvicorn

    from london_llm.inference import server
    from london_llm.inference.engine import Engine
    from london_llm.inference.loading import load_model

    engine = Engine(load_model(tiny_checkpoint, device="cpu"))
    gate = threading.Event()
    real_steps = engine.steps

    def gated_steps(*args, **kwargs):
        gate.wait(120)  # the worker holds its first batch here while the queue behind it fills
        yield from real_steps(*args, **kwargs)

    engine.steps = gated_steps
    state = server.ServerState(api_key=None, model_id=None, queue_size=2, max_batch_rows=1)
    app = server.create_app(state, load=lambda: engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return httpx.get(url + "/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    assert wait_until(healthy, 120), "the server did not come up"
    try:
        yield url, port, state, gate
    finally:
        gate.set()
        uv.should_exit = True
        thread.join(timeout=30)


def test_a_client_that_hangs_up_while_queued_frees_its_place(gated_server):
    url, port, state, gate = gated_server
    queued = lambda: httpx.get(url + "/health", timeout=5).json()["queued"]  # noqa: E731
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        running = pool.submit(httpx.post, url + "/v1/completions", json=BODY, timeout=120)
        assert wait_until(lambda: state.requests == 1 and queued() == 0), "the worker did not take the first request"
        waiting = [raw_request(port, {**BODY, "stream": True}), raw_request(port, BODY)]  # streamed and not
        assert wait_until(lambda: queued() == 2)
        full = httpx.post(url + "/v1/completions", json=BODY, timeout=30)
        assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full"

        for sock in waiting:  # both waiting clients hang up
            sock.close()
        assert wait_until(lambda: queued() == 0), "a client that hung up still holds its place in the queue"
        later = pool.submit(httpx.post, url + "/v1/completions", json=BODY, timeout=120)
        assert wait_until(lambda: queued() == 1 or later.done())
        assert not later.done(), later.result().text  # accepted and waiting, not turned away
        gate.set()
        assert running.result().status_code == 200
        answer = later.result()
        assert answer.status_code == 200 and answer.json()["choices"][0]["text"] is not None
