"""The errors of stage 06: each names what is wrong and what to do (exit status 2 on a command line)."""
from __future__ import annotations

from london_llm.errors import LondonLLMError


class InferenceError(LondonLLMError):
    """A model that does not load, a prompt that does not fit, a sampling value out of range..."""


class ContextOverflowError(InferenceError):
    """The prompt plus the tokens asked for do not fit the model's context (the server answers 400)."""
