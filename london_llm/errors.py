"""The one base class of the errors a person must act on.

Every stage's error classes derive from LondonLLMError, so a command line catches one type and
maps it to an exit code (`exit_code`), printing the message alone: the message names the file or
flag at fault and what to run. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
from typing import Callable

EXIT_USAGE = 2  # the exit status of every known failure: bad input, missing artifact, wrong flag


class LondonLLMError(Exception):
    """A failure the message explains; commands exit with `exit_code` after printing it."""

    exit_code = EXIT_USAGE


EXIT_INTERRUPTED = 130  # the shell's own status for a command ended by Ctrl-C (128 + SIGINT)


def run_command(main: Callable[..., int], argv=None, **kwargs) -> int:
    """What every numbered script's door calls: `main(argv, **kwargs)`, with a LondonLLMError that
    escapes it printed as one line (no traceback: the message says what to do) and mapped to its
    exit code. Ctrl-C that reaches it (a stage without its own handling, e.g. the corpus build or
    the tokenizer training) is one line too: every artifact is written atomically, so rerunning is
    the whole remedy. Any other exception is a bug and keeps its traceback."""
    try:
        return main(argv, **kwargs)
    except LondonLLMError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C) before it finished; nothing half-written is used: rerun the same command",
              file=sys.stderr)
        return EXIT_INTERRUPTED
