"""The one base class of the errors a person must act on.

Every stage's error classes derive from LondonLLMError, so a command line catches one type and
maps it to an exit code (`exit_code`), printing the message alone: the message names the file or
flag at fault and what to run. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

EXIT_USAGE = 2  # the exit status of every known failure: bad input, missing artifact, wrong flag


class LondonLLMError(Exception):
    """A failure the message explains; commands exit with `exit_code` after printing it."""

    exit_code = EXIT_USAGE
