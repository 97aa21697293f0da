"""The training stage's error: raised by the library, reported by training.cli (never the reverse)."""
from __future__ import annotations

from london_llm.errors import LondonLLMError


class TrainingError(LondonLLMError, RuntimeError):
    """Training cannot go on; the message says why and what to rerun."""
