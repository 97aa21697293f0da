"""`huggingface-cli`, the guide's name for the Hub's command line (`huggingface-cli login` before
publishing). huggingface_hub 1.0 renamed it `hf` and no longer installs the old command, so the
project installs this one (pyproject.toml's [project.scripts]): it runs `hf` with the old spellings
mapped (`login`, `logout` and `whoami` are `hf auth ...` now, `scan-cache` is `hf cache ls`, `repo`
is `hf repos`) and passes every other command (download, upload, ...) on as it is.

    huggingface-cli login           # = hf auth login (or set HF_TOKEN)
    python -m london_llm.publishing.hub_cli login   # the same, in an environment made before this
"""
from __future__ import annotations

import sys
from typing import Optional

RENAMED = {"login": ["auth", "login"], "logout": ["auth", "logout"], "whoami": ["auth", "whoami"],
           "scan-cache": ["cache", "ls"], "delete-cache": ["cache", "rm"], "repo": ["repos"]}


def hf_words(words: list[str]) -> list[str]:
    """The `hf` command line for an old `huggingface-cli` one."""
    if words and words[0] in RENAMED:
        return RENAMED[words[0]] + words[1:]
    return list(words)


def main(argv: Optional[list[str]] = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        from huggingface_hub.cli.hf import main as hf_main
    except ImportError as exc:  # huggingface_hub missing, or one from before `hf`
        print(f"ERROR: the Hub's command line is not available here ({exc}): install the project's environment "
              "(./run.sh creates it) or set HF_TOKEN instead of logging in", file=sys.stderr)
        return 2
    if given and given[0] in RENAMED:
        print(f"huggingface-cli {given[0]}: running `hf {' '.join(RENAMED[given[0]])}` (huggingface_hub's "
              "command line is called `hf` now)", file=sys.stderr)
    sys.argv = ["hf", *hf_words(given)]
    result = hf_main()  # may end the process itself, with hf's own exit status
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
