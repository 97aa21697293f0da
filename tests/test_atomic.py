"""london_llm.atomic: nothing appears under its final name unless complete."""
import os

import pytest

from london_llm import atomic


def test_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "out.json"
    atomic.write_json(target, {"a": 1})
    atomic.write_json(target, {"a": 2})
    assert target.read_text() == '{\n  "a": 2\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~atomic._umask()


def test_failure_inside_the_block_keeps_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_atomic_dir_appears_complete_or_not_at_all(tmp_path):
    final = tmp_path / "checkpoint-5"
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(final) as tmp:
            (tmp / "model.safetensors").write_bytes(b"x")
            raise RuntimeError("crash")
    assert not final.exists() and list(tmp_path.iterdir()) == []
    with atomic.atomic_dir(final) as tmp:
        (tmp / "a").write_text("1")
    with atomic.atomic_dir(final) as tmp:  # replacing an existing folder
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-5"]
