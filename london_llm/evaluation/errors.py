"""Evaluation's one error class: a message naming the thing and what to do, exit status 2."""
from __future__ import annotations

try:  # the shared base arrives with the layout (issue 9)
    from london_llm.errors import LondonLLMError
except ImportError:  # pragma: no cover - until the layout lands
    class LondonLLMError(Exception):
        exit_code = 2


class EvaluationError(LondonLLMError):
    """A bad checkpoint, task, question file or results artifact; the message says what to do."""

    exit_code = 2
