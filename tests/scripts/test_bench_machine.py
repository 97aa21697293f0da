"""bench/_machine.py's rerun_with_allocator, on a tiny child script (no model, a second or so)."""
from __future__ import annotations

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from _machine import ChildFailed, rerun_with_allocator  # noqa: E402

CHILD = """import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--allocator")
p.add_argument("--fail", action="store_true")
p.add_argument("--no_json", action="store_true")
args = p.parse_args()
print("  a table line")
if args.fail:
    sys.exit("the probe broke here")
print("done" if args.no_json else json.dumps({"allocator": args.allocator, "env": os.environ.get("LONDON_LLM_MALLOC")}))
"""


@pytest.fixture
def child(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return script


def test_default_sets_the_variable_and_tuned_unsets_it(child, monkeypatch):
    monkeypatch.setenv("LONDON_LLM_MALLOC", "default")  # this process's own setting must not leak
    result, lines = rerun_with_allocator(child, "tuned", [])
    assert result == {"allocator": "tuned", "env": None} and lines == ["  a table line"]
    monkeypatch.delenv("LONDON_LLM_MALLOC")
    result, _ = rerun_with_allocator(child, "default", [])
    assert result == {"allocator": "default", "env": "default"}


def test_a_failing_child_is_named_with_its_stderr_tail(child):
    with pytest.raises(ChildFailed, match=r"child\.py --allocator default failed \(exit 1\): the probe broke here"):
        rerun_with_allocator(child, "default", ["--fail"])


def test_a_child_without_a_json_line_fails_clearly(child):
    with pytest.raises(ChildFailed, match=r"exit 0.*stdout ending \['done'\]"):
        rerun_with_allocator(child, "tuned", ["--no_json"])
