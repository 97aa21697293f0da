"""06_inference/serve.py as a real process on 127.0.0.1, called with the official `openai` client
(streaming and not, n > 1, stop strings) and with raw HTTP for every bad input; 8 concurrent
clients; a disconnect mid-stream stops generation; the API and the CLI agree on seeded samples."""
from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from inference_fixtures import tiny_checkpoint  # noqa: F401 - session fixture

pytestmark = [pytest.mark.slow, pytest.mark.corpus]  # real server processes, a model trained on ../shared/corpus

REPO = Path(__file__).resolve().parents[2]
SERVE = REPO / "06_inference" / "serve.py"
CLI = REPO / "06_inference" / "inference_unified.py"
KEY = "test-key-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, checkpoint: Path, *extra: str, key: str | None = KEY):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = checkpoint.parent.parent / f"serve-{self.port}.log"
        args = [sys.executable, str(SERVE), "--checkpoints_dir", str(checkpoint.parent), "--checkpoint",
                checkpoint.name, "--port", str(self.port), "--log_level", "warning", *extra]
        if key:
            args += ["--api_key", key]
        self.proc = subprocess.Popen(args, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.first_health = None
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                r = httpx.get(self.url + "/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if self.first_health is None:
                self.first_health = (r.status_code, r.json())
            if r.status_code == 200:
                self.model = r.json()["model"]
                return
            time.sleep(0.05)
        raise AssertionError("server did not become healthy")

    def headers(self):
        return {"Authorization": f"Bearer {KEY}"}

    def post(self, body, **kw):
        return httpx.post(self.url + "/v1/completions", json=body, headers=kw.pop("headers", self.headers()),
                          timeout=60, **kw)

    def tokens(self) -> int:
        return httpx.get(self.url + "/health", timeout=5).json()["tokens_generated"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def server(tiny_checkpoint):  # noqa: F811
    s = Server(tiny_checkpoint)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=60)


def test_health_is_503_until_loaded_then_reports_provenance(server, tiny_checkpoint):  # noqa: F811
    status, body = server.first_health
    assert status == 503 and body["status"] == "loading"
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["step"] == 30 and health["checkpoint"] == str(tiny_checkpoint.resolve())
    assert len(health["sha256"]) == 64


def test_models_lists_the_served_model(client, server):
    models = client.models.list().data
    assert [m.id for m in models] == [server.model] == ["checkpoint-30"]


def test_completion_with_the_openai_client(client, server):
    r = client.completions.create(model=server.model, prompt="The prisoner was indicted for", max_tokens=12,
                                  temperature=0.9, top_p=0.95, seed=5, extra_body={"top_k": 40})
    assert len(r.choices) == 1 and r.choices[0].finish_reason in ("length", "stop")
    assert r.usage.completion_tokens <= 12 and r.usage.prompt_tokens > 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    again = client.completions.create(model=server.model, prompt="The prisoner was indicted for", max_tokens=12,
                                      temperature=0.9, top_p=0.95, seed=5, extra_body={"top_k": 40})
    assert again.choices[0].text == r.choices[0].text  # seeded: reproducible


def test_n_samples_and_prompt_lists(client, server):
    r = client.completions.create(model=server.model, prompt=["Sir,", "The court"], max_tokens=8, n=3, seed=1)
    assert sorted(c.index for c in r.choices) == list(range(6))
    texts = [c.text for c in sorted(r.choices, key=lambda c: c.index)]
    assert len(set(texts[:3])) > 1  # three different samples of the first prompt
    single = client.completions.create(model=server.model, prompt="The court", max_tokens=8, seed=1)
    assert single.choices[0].text == texts[3]  # sample 0 of a prompt depends only on its seed


def test_streaming_matches_the_plain_answer_and_ends_with_done(client, server):
    kwargs = dict(model=server.model, prompt="In the year 1834, I walked", max_tokens=20, seed=9, temperature=1.0)
    plain = client.completions.create(**kwargs)
    pieces, reasons = [], []
    for chunk in client.completions.create(stream=True, **kwargs):
        for c in chunk.choices:
            pieces.append(c.text)
            if c.finish_reason:
                reasons.append(c.finish_reason)
    assert "".join(pieces) == plain.choices[0].text and reasons == [plain.choices[0].finish_reason]
    assert len([p for p in pieces if p]) > 2
    with httpx.stream("POST", server.url + "/v1/completions", headers=server.headers(),
                      json={**kwargs, "stream": True, "stream_options": {"include_usage": True}}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    usage = json.loads(events[-2][len("data: "):])["usage"]
    assert usage["completion_tokens"] == plain.usage.completion_tokens


def test_stop_strings(client, server):
    kwargs = dict(model=server.model, prompt="The prisoner", max_tokens=30, seed=3, temperature=1.0)
    full = client.completions.create(**kwargs).choices[0].text
    stop = full[5:8]
    cut = client.completions.create(stop=[stop, "\u00a7\u00a7"], **kwargs).choices[0]
    assert cut.finish_reason == "stop" and cut.text == full[:full.index(stop)]
    streamed = "".join(c.choices[0].text for c in client.completions.create(stop=stop, stream=True, **kwargs)
                       if c.choices)
    assert streamed == cut.text


def test_api_and_cli_give_the_same_seeded_sample(server, tiny_checkpoint):  # noqa: F811
    args = dict(prompt="The Ordinary visited him", max_tokens=25, temperature=0.9, top_k=40, seed=77)
    api = server.post({**args, "model": server.model}).json()
    cli = subprocess.run([sys.executable, str(CLI), "--checkpoint", str(tiny_checkpoint), "--prompt", args["prompt"],
                          "--max_length", "25", "--temperature", "0.9", "--top_k", "40", "--seed", "77", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    record = json.loads(cli.stdout.splitlines()[0])
    assert record["text"] == api["choices"][0]["text"] and record["completion_tokens"] == api["usage"]["completion_tokens"]
    assert record["step"] == 30 and record["seed"] == 77 and record["sha256"].startswith(api["system_fingerprint"])


def test_eight_concurrent_clients_are_all_answered(server):
    prompts = [f"Witness number {i} said that" for i in range(8)]

    def one(i):
        out = []
        for round_ in range(3):
            r = server.post({"model": server.model, "prompt": prompts[i], "max_tokens": 16, "seed": i * 10 + round_,
                             "temperature": 0.9})
            assert r.status_code == 200, r.text
            out.append(r.json()["choices"][0]["text"])
        return out

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    # each answer is the one that prompt and seed give alone: batching changed nothing
    for i in (0, 5):
        alone = server.post({"model": server.model, "prompt": prompts[i], "max_tokens": 16, "seed": i * 10 + 2,
                             "temperature": 0.9}).json()["choices"][0]["text"]
        assert alone == results[i][2]
    metrics = httpx.get(server.url + "/metrics").text
    counters = dict(line.split() for line in metrics.splitlines())
    assert int(counters["london_llm_batches_total"]) < int(counters["london_llm_requests_total"])
    assert int(counters["london_llm_peak_rows"]) >= 4  # concurrent requests really shared forward passes


def test_a_disconnect_mid_stream_stops_generation(server):
    before = server.tokens()
    with httpx.Client(timeout=30) as http:
        with http.stream("POST", server.url + "/v1/completions", headers=server.headers(),
                         json={"model": server.model, "prompt": "It was", "max_tokens": 90, "n": 4,
                               "stream": True, "temperature": 1.0, "seed": 1}) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    break  # one piece received: now hang up
    time.sleep(1.5)
    stopped = server.tokens()
    time.sleep(1.0)
    assert server.tokens() == stopped  # nothing more is generated for the gone client
    assert stopped - before < 4 * 90  # ... and it stopped well before its 360 tokens


BAD = [
    ("not json", b"{\"prompt\": ", 400, "invalid_json"),
    ("array body", b"[1, 2]", 400, "invalid_json"),
    ("no prompt", {"max_tokens": 5}, 400, "missing"),
    ("prompt number", {"prompt": 5}, 400, "invalid_type"),
    ("prompt ids", {"prompt": [1, 2, 3]}, 400, "invalid_type"),
    ("prompt empty list", {"prompt": []}, 400, "invalid_type"),
    ("max_tokens string", {"prompt": "a", "max_tokens": "5"}, 400, "invalid_type"),
    ("max_tokens zero", {"prompt": "a", "max_tokens": 0}, 400, "invalid_value"),
    ("max_tokens float", {"prompt": "a", "max_tokens": 2.5}, 400, "invalid_type"),
    ("temperature text", {"prompt": "a", "temperature": "hot"}, 400, "invalid_type"),
    ("temperature negative", {"prompt": "a", "temperature": -1}, 400, "invalid_value"),
    ("top_p too big", {"prompt": "a", "top_p": 3}, 400, "invalid_value"),
    ("top_k negative", {"prompt": "a", "top_k": -1}, 400, "invalid_value"),
    ("n zero", {"prompt": "a", "n": 0}, 400, "invalid_value"),
    ("n huge", {"prompt": "a", "n": 1000}, 400, "invalid_value"),
    ("stop number", {"prompt": "a", "stop": 5}, 400, "invalid_type"),
    ("stop empty", {"prompt": "a", "stop": [""]}, 400, "invalid_value"),
    ("stream text", {"prompt": "a", "stream": "yes"}, 400, "invalid_type"),
    ("seed negative", {"prompt": "a", "seed": -5}, 400, "invalid_value"),
    ("unknown field", {"prompt": "a", "frobnicate": 1}, 400, "unknown_parameter"),
    ("logprobs", {"prompt": "a", "logprobs": 5}, 400, "unsupported_parameter"),
    ("unknown model", {"prompt": "a", "model": "gpt-4"}, 404, "model_not_found"),
    ("unknown kind", {"prompt": "a", "kind": "spaceship"}, 400, "invalid_value"),
    ("past the context", {"prompt": "a", "max_tokens": 5000}, 400, "context_length_exceeded"),
    ("prompt past the context", {"prompt": "word " * 500, "max_tokens": 1}, 400, "context_length_exceeded"),
]


@pytest.mark.parametrize("name,body,status,code", BAD, ids=[b[0] for b in BAD])
def test_every_bad_request_gets_a_4xx_in_the_openai_envelope(server, name, body, status, code):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(server.url + "/v1/completions", content=content, timeout=30,
                   headers={**server.headers(), "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code and error["message"]


def test_keys_sizes_routes_and_methods(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        r = httpx.post(server.url + "/v1/completions", json={"prompt": "a"}, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(server.url + "/v1/models").status_code == 401
    big = httpx.post(server.url + "/v1/completions", headers=server.headers(),
                     content=b'{"prompt": "' + b"a" * 1_100_000 + b'"}')
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    for r in (httpx.get(server.url + "/v1/nothing"), httpx.put(server.url + "/v1/completions"),
              httpx.get(server.url + "/v1/completions")):
        assert 400 <= r.status_code < 500 and "error" in r.json()
    assert server.proc.poll() is None  # none of it hurt the server


def test_a_full_queue_answers_429(tiny_checkpoint):  # noqa: F811
    small = Server(tiny_checkpoint, "--queue_size", "1", "--max_batch", "1", key=None)
    try:
        body = {"prompt": "It was", "max_tokens": 85, "temperature": 1.0}

        def one(_):
            return httpx.post(small.url + "/v1/completions", json=body, timeout=120).status_code

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(one, range(10)))
        assert 200 in codes and 429 in codes and set(codes) <= {200, 429}, codes
        r = httpx.post(small.url + "/v1/completions", json=body, timeout=120)
        assert r.status_code == 200  # busy is temporary
    finally:
        small.stop()


def test_wrong_checkpoint_exits_with_a_message(tiny_checkpoint):  # noqa: F811
    run = subprocess.run([sys.executable, str(SERVE), "--checkpoints_dir", str(tiny_checkpoint.parent),
                          "--checkpoint", "checkpoint-999", "--port", str(free_port())],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "checkpoint-999" in run.stderr and "checkpoint-30" in run.stderr
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_a_port_in_use_is_one_line_before_anything_loads(tmp_path):
    """uvicorn's own answer was four log lines ("[Errno 98] ... address already in use", shutdown lines)
    and exit 3, after a "Serving ..." line."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run([sys.executable, str(SERVE), "--checkpoints_dir", str(tmp_path), "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port} is already in use" in lines[0] and "--port" in lines[0], run.stderr
