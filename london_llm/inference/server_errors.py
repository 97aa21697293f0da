"""The API server's errors: every answer other than 200 is one, in OpenAI's error envelope
{"error": {"message", "type", "param", "code"}}, raised wherever the request fails (parsing, the
queue, the worker) and answered by the app's one handler.
"""
from __future__ import annotations

from typing import Optional


class APIError(Exception):
    """An answer other than 200, in OpenAI's error envelope."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: Optional[str] = None, code: Optional[str] = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
