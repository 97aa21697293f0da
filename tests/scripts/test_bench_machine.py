"""bench/_machine.py's rerun_with_allocator and set_allocator, on a tiny child script (no model: a second)."""
from __future__ import annotations

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from _machine import ChildFailed, rerun_with_allocator  # noqa: E402

CHILD = f"""import argparse, json, os, sys
sys.path[:0] = [{str(REPO)!r}, {str(REPO / "bench")!r}]
from _machine import set_allocator
p = argparse.ArgumentParser()
p.add_argument("--allocator")
p.add_argument("--fail", action="store_true")
p.add_argument("--no_json", action="store_true")
args = p.parse_args()
print("  a table line")
if args.fail:
    sys.exit("the probe broke here")
env = os.environ.get("LONDON_LLM_MALLOC")
print("done" if args.no_json else json.dumps({{"env": env, "malloc": set_allocator(args.allocator)}}))
"""


@pytest.fixture
def child(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return script


def test_default_sets_the_variable_and_tuned_unsets_it(child, monkeypatch):
    monkeypatch.setenv("LONDON_LLM_MALLOC", "default")  # this process's own setting must not leak
    result, lines = rerun_with_allocator(child, "tuned", [])
    assert result["env"] is None and lines == ["  a table line"]
    if sys.platform.startswith("linux"):
        assert result["malloc"].startswith(("glibc malloc keeps", "allocator untouched")), result
    monkeypatch.delenv("LONDON_LLM_MALLOC")
    result, _ = rerun_with_allocator(child, "default", [])
    assert result == {"env": "default", "malloc": "glibc malloc defaults"}


def test_a_failing_child_is_named_with_its_stderr_tail(child):
    with pytest.raises(ChildFailed, match=r"child\.py --allocator default failed \(exit 1\): the probe broke here"):
        rerun_with_allocator(child, "default", ["--fail"])


def test_a_child_without_a_json_line_fails_clearly(child):
    with pytest.raises(ChildFailed, match=r"exit 0.*stdout ending \['done'\]"):
        rerun_with_allocator(child, "tuned", ["--no_json"])
