"""Every command the user's guide (../shared/seed/TRAINING_GUIDE.md) names is a promise: each script
it runs exists where the guide runs it from, and each flag it passes is one that script's --help
documents. Read from the guide itself, so a new command in the guide is checked without a new test."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

GUIDE = REPO.parent / "shared" / "seed" / "TRAINING_GUIDE.md"
STAGE_DIRS = sorted(p for p in REPO.iterdir() if p.is_dir() and re.match(r"\d\d_", p.name))
RUNNERS = {"python", "python3", "torchrun"}


def guide_commands(text: str) -> list[tuple[str, list[str]]]:
    """(folder the command runs in, its words) for each python / torchrun / ./script command of the
    guide: in its code blocks (a `cd` there moves the later lines of that block) and in inline code."""
    commands: list[tuple[str, list[str]]] = []

    def take(line: str, cwd: str) -> str:
        line = line.split(" #", 1)[0].strip()
        try:
            words = shlex.split(line)
        except ValueError:
            return cwd
        if len(words) == 2 and words[0] == "cd":
            return words[1]
        if words and (words[0] in RUNNERS or re.fullmatch(r"\./[\w.-]+\.sh", words[0])):
            commands.append((cwd, words))
        return cwd

    in_block, cwd = False, "."
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_block, cwd = not in_block, "."
            continue
        if in_block:
            cwd = take(line, cwd)
        else:
            for inline in re.findall(r"`([^`]+)`", line):
                take(inline, ".")
    return commands


def script_of(words: list[str]) -> tuple[str, list[str]]:
    """The script a command runs and the flags it passes it (torchrun's own flags come before it)."""
    at = next(i for i, w in enumerate(words) if w.endswith((".py", ".sh")))
    flags = [w.split("=", 1)[0] for w in words[at + 1:] if w.startswith("--")]
    return words[at], flags


def resolve(cwd: str, script: str) -> list[Path]:
    """Where the script can be: from the folder the guide is in, or (a bare name in a section that
    says where, e.g. "in 04_training") a stage folder holding it."""
    here = (REPO / cwd / script).resolve()
    if here.is_file() or "/" in script.lstrip("./"):
        return [here]
    return [d / script for d in STAGE_DIRS if (d / script).is_file()] or [here]


@pytest.fixture(scope="module")
def commands() -> list[tuple[str, list[str]]]:
    if not GUIDE.is_file():
        pytest.skip(f"the user's guide is not at {GUIDE} (../shared/seed beside the repository)")
    found = guide_commands(GUIDE.read_text(encoding="utf-8"))
    assert len(found) > 40, "the guide's commands were not found: has its layout changed?"
    return found


def test_reading_the_guide():
    text = "```bash\ncd 04_training\ntorchrun --nproc_per_node=2 train_model.py --resume_from_checkpoint c-1  # x\n" \
           "```\nThen `python 03_tokenizer/test_tokenizer.py` and ` ./resume_training.sh checkpoint-500`.\n" \
           "```\nnvidia-smi\npython -c \"import torch\"\n```"
    found = guide_commands(text)
    assert found[0] == ("04_training", ["torchrun", "--nproc_per_node=2", "train_model.py",
                                        "--resume_from_checkpoint", "c-1"])
    assert found[1] == (".", ["python", "03_tokenizer/test_tokenizer.py"])
    assert script_of(found[0][1]) == ("train_model.py", ["--resume_from_checkpoint"])
    assert len(found) == 4 and found[3][1][:2] == ["python", "-c"]  # -c: no script; skipped by the test


def test_every_script_the_guide_runs_exists(commands):
    missing = []
    for cwd, words in commands:
        if not any(w.endswith((".py", ".sh")) for w in words):
            continue  # `python -c ...`
        cwd_script = script_of(words)[0]
        places = resolve(cwd, cwd_script)
        if not any(p.is_file() for p in places):
            missing.append(f"{cwd}: {' '.join(words)}")
        elif cwd_script.endswith(".sh") and not any(p.stat().st_mode & 0o111 for p in places):
            missing.append(f"{cwd}: {cwd_script} is not executable")
    assert not missing, "the guide runs scripts this repository lacks:\n" + "\n".join(missing)


def test_every_flag_the_guide_passes_is_documented(commands):
    wanted: dict[Path, set[str]] = {}
    for cwd, words in commands:
        if any(w.endswith(".py") for w in words):
            script, flags = script_of(words)
            for place in resolve(cwd, script):
                if place.is_file():
                    wanted.setdefault(place, set()).update(flags)
    assert len(wanted) >= 8  # train x2, the checkpoint checks, evaluation, inference, publishing, ...
    # all --help runs at once: each is an interpreter start and an import of the stage
    runs = {p: subprocess.Popen([sys.executable, str(p), "--help"], cwd=p.parent, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for p in wanted}
    undocumented = []
    for place, proc in runs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{place.relative_to(REPO)} --help failed:\n{out[-2000:]}"
        documented = set(re.findall(r"--[\w-]+", out))
        undocumented += [f"{place.relative_to(REPO)} {f}" for f in sorted(wanted[place] - documented)]
    assert not undocumented, "the guide passes flags the scripts' --help does not document:\n" + "\n".join(undocumented)


def shell_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line, folder, words) for each `cd` and python/torchrun command of the guide's code blocks, the
    folder composed as a shell pasting the whole block from the repository root would (`cd 04_training`
    then `cd 05_evaluation` is 04_training/05_evaluation)."""
    found, in_block, cwd = [], False, "."
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_block, cwd = not in_block, "."
            continue
        if not in_block:
            continue
        try:
            words = shlex.split(line.split(" #", 1)[0].strip())
        except ValueError:
            continue
        if len(words) == 2 and words[0] == "cd" and not words[1].startswith(("/", "~", "$")):
            cwd = str(Path(cwd) / words[1])
            found.append((number, cwd, words))
        elif words and words[0] in RUNNERS:
            found.append((number, cwd, words))
    return found


def test_a_pasted_block_finds_its_folders_and_scripts(commands):
    """The guide's blocks that `cd 04_training`, then `cd 05_evaluation` and `cd 06_inference` (Testing After
    Training Completion, Post-Training, Next Steps) work pasted whole: 04_training/05_evaluation and
    05_evaluation/06_inference are links to the stage folders."""
    problems = []
    for number, cwd, words in shell_blocks(GUIDE.read_text(encoding="utf-8")):
        if words[0] == "cd":
            if not (REPO / cwd).is_dir():
                problems.append(f"line {number}: cd {words[1]} fails in {Path(cwd).parent}")
            continue
        script = next((w for w in words if w.endswith(".py")), None)
        if script and cwd != "." and not (REPO / cwd / script).is_file():
            problems.append(f"line {number}: {script} is not in {cwd}")
    assert not problems, "\n".join(problems)
    assert any(cwd == "04_training/05_evaluation/06_inference" for _n, cwd, _w in
               shell_blocks(GUIDE.read_text(encoding="utf-8")))  # the Post-Training block, read as a shell would


ROOT_CHECKS = ("test_checkpoint.py", "test_slm_checkpoint.py", "test_checkpoint_slm.py")


@pytest.mark.parametrize("name", ROOT_CHECKS)
def test_the_checkpoint_checks_run_from_the_root_as_well(name):
    """The guide's "Check Available Checkpoints" and "Interactive Testing" blocks run `python
    test_checkpoint.py ...` with no `cd` beside `ls -la 09_models/checkpoints/`: from the repository
    root too. The root holds links to 04_training's scripts (one code path), as for the launchers."""
    link = REPO / name
    assert link.is_symlink() and link.resolve() == (REPO / "04_training" / name).resolve(), link


def test_a_root_link_checks_the_checkpoints_of_the_artifact_root(tmp_path):
    done = subprocess.run([sys.executable, "test_slm_checkpoint.py", "--list-checkpoints", "--home", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"slm: {tmp_path / '09_models' / 'checkpoints' / 'slm'}"), done.stdout
