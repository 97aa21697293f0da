"""The body of POST /v1/completions, checked: every field's type and range, the OpenAI fields this
server does not support refused by name, the model id matched; an APIError (400/404) naming the
field otherwise.
"""
from __future__ import annotations

import json
import math
from typing import Any

from london_llm.inference.server_errors import APIError

MAX_PROMPTS = 16
# every decoding step matches each stop string against the text's tail, on the worker every request
# shares: bounded so one request cannot slow the others' steps (OpenAI allows 4)
MAX_STOPS = 16
MAX_STOP_CHARS = 1_000
DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
_UNSUPPORTED = {"logprobs": None, "suffix": None, "echo": False, "best_of": None,
                "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": None}
_KNOWN = {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "n",
          "stop", "seed", "stream", "stream_options", "user", "kind", "period", "year", "greedy", *_UNSUPPORTED}


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
    if len(stops) > MAX_STOPS or any(len(s) > MAX_STOP_CHARS for s in stops):
        raise APIError(400, f"at most {MAX_STOPS} stop strings of at most {MAX_STOP_CHARS:,} characters each",
                       param="stop", code="invalid_value")
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
