"""inference_unified.py's command line in-process (cli.main as the door calls it): --help, tags, stop strings.
The script itself, its guide commands and the interactive mode on a pty: tests/scripts/test_inference_unified.py."""
from __future__ import annotations

import json
import re

import pytest

from inference_fixtures import cli, tiny_checkpoint  # noqa: F401 - fixtures


def test_help_documents_every_flag(cli):
    out = cli("--help").stdout
    for flag in ("--interactive", "--prompt", "--num_samples", "--max_length", "--temperature", "--top_k", "--top_p",
                 "--min_p", "--repetition_penalty", "--greedy", "--checkpoint", "--model", "--kind", "--period",
                 "--year", "--seed", "--stop", "--json", "--list_tags", "--device", "--dtype"):
        assert flag in out, flag


def test_tags_are_listed_and_a_wrong_one_is_refused(tiny_checkpoint, cli):  # noqa: F811
    listing = cli("--checkpoint", tiny_checkpoint, "--list_tags")
    assert listing.returncode == 0 and "book" in listing.stdout and "ordinary" in listing.stdout
    assert re.search(r"\d{4}-\d{4}", listing.stdout)
    wrong = cli("--checkpoint", tiny_checkpoint, "--kind", "spaceship", "--prompt", "x")
    assert wrong.returncode == 2 and "spaceship" in wrong.stderr and "ordinary" in wrong.stderr


def test_stop_strings_from_the_command_line(tiny_checkpoint, cli):  # noqa: F811
    base = ["--checkpoint", tiny_checkpoint, "--prompt", "The", "--max_length", 30, "--seed", 2, "--json"]
    full = json.loads(cli(*base).stdout)["text"]
    stop = full[4:6]
    cut = json.loads(cli(*base, "--stop", stop).stdout)
    assert cut["finish_reason"] == "stop" and cut["text"] == full[:full.index(stop)]
