"""The one error type of the publishing stage: a message that names the thing and what to do."""
from __future__ import annotations

from london_llm.errors import LondonLLMError


class PublishError(LondonLLMError):
    """Publishing cannot go on; the CLI prints the message on one line and exits with `exit_code`."""
