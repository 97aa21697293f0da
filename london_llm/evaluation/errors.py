"""Evaluation's one error class: a message naming the thing and what to do, exit status 2."""
from __future__ import annotations

from london_llm.errors import LondonLLMError


class EvaluationError(LondonLLMError):
    """A bad checkpoint, task, question file or results artifact; the message says what to do."""
