"""The answers of POST /v1/completions from a job's events: one JSON body once every choice is done
(`collect`), or server-sent events as the text comes (`stream_events`). Either way a client that
goes away abandons its job, so the worker stops its rows.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.responses import JSONResponse

from london_llm.inference.server_errors import APIError
from london_llm.inference.server_jobs import Job


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
