"""The one exception type of the tokenizer stage."""
from __future__ import annotations


class TokenizerError(Exception):
    """Bad tokenizer input or folder. The message names the file and what to rerun."""
