"""A failure talking to the Hub is one line that never holds the token, in any spelling (the HTTP layer
quotes a header value it refuses, token and all: h11's "Illegal header value b'Bearer ...'"), and a Hub
that accepts a connection but never answers times out instead of hanging the publish."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from london_llm.publishing import hub
from london_llm.publishing.errors import PublishError

SECRET = "hf_SeCrEtToKeN1234567890"
PASTED = f"\x7f{SECRET}\x01"  # stray control characters pasted with it (h11 refuses the header)


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch):
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "HUB_TIMEOUT", {"timeout": 2.0, "connect": 2.0})
    monkeypatch.setattr(hub, "_timeouts_set", False)
    yield
    _http.set_client_factory(_http.default_client_factory)  # the library's own again, for later tests


@pytest.fixture
def listener():
    """A loopback port that accepts connections (and answers nothing)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    accepted = []

    def accept():
        try:
            while True:
                accepted.append(sock.accept()[0])
        except OSError:
            pass
    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    for conn in accepted:
        conn.close()


def test_a_token_the_http_layer_refuses_is_not_in_the_error(listener, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_TOKEN", PASTED)
    api = HfApi(token=hub.hub_token(), endpoint=listener)
    with pytest.raises(PublishError) as raised:
        hub.resolve_repo_id(api, "london")
    message = str(raised.value)
    assert "cannot check the Hugging Face token" in message and "\n" not in message
    assert SECRET not in message and SECRET[:12] not in message, message


@pytest.mark.parametrize("spelling", [PASTED, repr(PASTED), repr(PASTED.encode()), SECRET])
def test_every_spelling_of_the_token_is_blanked(spelling, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", PASTED)
    error = hub._api_error("upload", RuntimeError(f"bad header {spelling} here"))
    assert SECRET not in str(error) and "***" in str(error)


def test_a_hub_that_never_answers_times_out(listener, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_TOKEN", SECRET)
    started = time.monotonic()
    with pytest.raises(PublishError, match="unreachable"):
        hub.resolve_repo_id(HfApi(token=SECRET, endpoint=listener), "london")
    assert time.monotonic() - started < 30
