"""The one exception type of the tokenizer stage."""
from __future__ import annotations

from london_llm.errors import LondonLLMError


class TokenizerError(LondonLLMError):
    """Bad tokenizer input or folder. The message names the file and what to rerun."""
