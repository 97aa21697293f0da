"""06_inference/inference_unified.py as a user runs it: one-shot prompts, --json, tags, errors, and the
interactive mode driven through a real pseudo-terminal (commands, history, Ctrl-C once and twice, Ctrl-D)."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from inference_fixtures import cli, tiny_checkpoint  # noqa: F401 - fixtures

pytestmark = pytest.mark.corpus  # the test model is trained on ../shared/corpus

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "06_inference" / "inference_unified.py"


def run_cli(*args, timeout=120):
    """The script itself, as a user runs it (seconds per start: used where the door matters)."""
    return subprocess.run([sys.executable, str(CLI), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slow_model(tiny_checkpoint, tmp_path_factory):  # noqa: F811
    """A wider random model with a 1024-token context whose eos is suppressed: generating runs for seconds."""
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    folder = tmp_path_factory.mktemp("slow_model")
    for f in tiny_checkpoint.iterdir():
        if f.name.endswith((".json", ".txt")) and f.name not in ("manifest.json", "trainer_state.json",
                                                                   "config.json", "generation_config.json"):
            shutil.copy2(f, folder / f.name)
    config = AutoConfig.from_pretrained(str(tiny_checkpoint))
    config.n_positions, config.n_layer, config.n_embd, config.n_head = 1024, 4, 256, 4
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    gen = GenerationConfig.from_pretrained(str(tiny_checkpoint))
    gen.suppress_tokens = sorted(set(gen.suppress_tokens or []) | {config.eos_token_id})
    gen.save_pretrained(folder)
    return folder


# --- one-shot ---------------------------------------------------------------------------------

def test_guide_commands_and_json_lines(tiny_checkpoint, cli):  # noqa: F811
    run = run_cli("--checkpoints_dir", tiny_checkpoint.parent, "--num_samples", 3, "--max_length", 12, "--seed", 4,
                  "--json")
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["sample"] for r in records] == [0, 1, 2] and [r["seed"] for r in records] == [4, 5, 6]
    for r in records:
        assert r["checkpoint"] == str(tiny_checkpoint.resolve()) and r["step"] == 30 and len(r["sha256"]) == 64
        assert r["prompt_with_tags"] == "<|kind:book|>" and r["completion_tokens"] == len(r["token_ids"]) <= 12
        assert r["time_to_first_token_s"] > 0 and r["tokens_per_s"] >= 0 and r["finish_reason"] in ("stop", "length")
    plain = cli("--checkpoint", tiny_checkpoint, "--prompt", "In the year 1834, I walked through the streets of London",
                    "--max_length", 10, "--seed", 4, "--kind", "ordinary", "--year", 1760)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("In the year 1834, I walked through the streets of London")
    assert re.search(r"\[\d+ tokens · first token [\d.]+ s · [\d.]+ tokens/s · (length|stop) · seed 4\]", plain.stderr)
    assert "step 30" in plain.stderr  # the banner names what was loaded


def test_errors_are_one_clear_message(tiny_checkpoint, tmp_path, cli):  # noqa: F811
    over = cli("--checkpoint", tiny_checkpoint, "--max_length", 500)
    assert over.returncode == 2 and "context of 96 tokens" in over.stderr and "at most" in over.stderr
    missing = run_cli("--checkpoints_dir", tiny_checkpoint.parent, "--checkpoint", "checkpoint-999")
    assert missing.returncode == 2 and "checkpoint-999" in missing.stderr and "checkpoint-30" in missing.stderr
    empty = cli("--checkpoints_dir", tmp_path)
    assert empty.returncode == 2 and "no complete checkpoint" in empty.stderr
    bad = cli("--checkpoint", tiny_checkpoint, "--top_p", 2)
    assert bad.returncode == 2 and "top_p" in bad.stderr
    for r in (over, missing, empty, bad):
        assert "Traceback" not in r.stderr


# --- interactive, through a pseudo-terminal ---------------------------------------------------------

_TERMINALS: list = []


@pytest.fixture(autouse=True)
def _no_terminal_outlives_its_test():
    """A failed expectation leaves its CLI waiting at the prompt: end it with the test."""
    yield
    while _TERMINALS:
        pid = _TERMINALS.pop().pid
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


class Terminal:
    """The CLI on a pty: its own controlling terminal, so Ctrl-C is the terminal's SIGINT as for a user."""

    def __init__(self, *args, home: Path):
        env = dict(os.environ, HOME=str(home), TERM="dumb", PYTHONUNBUFFERED="1")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the CLI
            # as a user's shell starts it: a suite run in the background (a CI job under `nohup ... &`)
            # ignores SIGINT, and an ignored signal stays ignored across exec
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, str(CLI), *map(str, args)], env)
        self.buffer = ""
        _TERMINALS.append(self)

    def expect(self, pattern: str, timeout: float = 60) -> str:
        """Read until `pattern` (a regex) appears; returns the text up to and including it."""
        deadline = time.time() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.buffer)
            if m:
                seen, self.buffer = self.buffer[:m.end()], self.buffer[m.end():]
                return seen
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout}s; got:\n{self.buffer[-2000:]}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"the CLI ended before {pattern!r}:\n{self.buffer[-2000:]}")
                self.buffer += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C as typed: after a moment, so the line editor is reading (a loaded machine is slow to get there)."""
        time.sleep(0.5)
        self.send("\x03")

    def line(self, text: str) -> None:
        self.send(text + "\n")

    def wait(self, timeout: float = 30) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:  # drain output so the child never blocks writing
                while select.select([self.fd], [], [], 0.1)[0]:
                    data = os.read(self.fd, 65536)
                    if not data:
                        break
                    self.buffer += data.decode("utf-8", "replace").replace("\r\n", "\n")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                _TERMINALS.remove(self)  # reaped: its pid may be someone else's from now on
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the CLI did not exit:\n{self.buffer[-2000:]}")


PROMPT = r"\n> $|^> $|> "


@pytest.mark.slow
def test_interactive_commands_history_and_exit(tiny_checkpoint, tmp_path):  # noqa: F811
    story = tmp_path / "story.txt"
    story.write_text("The Ordinary of Newgate reports that", encoding="utf-8")
    t = Terminal("--checkpoint", tiny_checkpoint, "--interactive", "--max_length", 12, home=tmp_path)
    t.expect(r"/help for commands")
    t.expect(PROMPT)
    t.line("/help")
    t.expect(r"/regen[\s\S]*/exit")
    t.line("/set temperature=0.5")
    t.expect(r"temperature 0\.5")
    t.line("/set colour=blue")
    t.expect(r"unknown setting 'colour'")
    t.line("/set kind=spaceship")
    t.expect(r"unknown --kind 'spaceship'[\s\S]*ordinary")
    t.line("/seed 7")
    t.expect(r"seed 7")
    t.line("/show")
    t.expect(r"seed 7[\s\S]*kind book \(default\)")
    t.line("The prisoner was")
    first = t.expect(r"\[\d+ tokens[^\]]*seed 7\]")
    t.line("/regen")
    second = t.expect(r"\[\d+ tokens[^\]]*seed 7\]")
    text = lambda s: s[s.rindex("The prisoner was"):s.rindex("[")]  # noqa: E731
    assert text(first) == text(second)  # a fixed seed regenerates the same text
    t.line(f"/read {story}")
    t.expect(r"The Ordinary of Newgate reports that[\s\S]*\[\d+ tokens")
    t.line("/read /no/such/file")
    t.expect(r"no file /no/such/file")
    t.line("/clear")
    t.expect(r"\(cleared\)")
    t.line("/regen")
    t.expect(r"nothing to regenerate")
    t.line("exit")
    assert t.wait() == 0
    history = (tmp_path / ".london_llm_history").read_text(encoding="utf-8")
    assert "The prisoner was" in history and "/seed 7" in history


@pytest.mark.slow
def test_ctrl_c_stops_a_generation_and_a_second_exits(slow_model, tmp_path):
    t = Terminal("--checkpoint", slow_model, "--interactive", "--max_length", 1000, home=tmp_path)
    t.expect(PROMPT)
    t.line("It was a dark night")
    t.expect(r"It was a dark night\S*\s*\S+")  # generation under way
    t.send("\x03")
    t.expect(r"\[stopped; Ctrl-C again to exit\]", timeout=20)
    t.expect(PROMPT)
    t.line("/show")  # the session lives on
    t.expect(r"max_new_tokens 1000")
    t.expect(PROMPT)
    t.line("Another prompt")
    t.expect(r"Another prompt\S*\s*\S+")
    t.send("\x03")
    t.expect(r"\[stopped")
    t.expect(PROMPT)
    t.interrupt()  # the second Ctrl-C in a row exits
    assert t.wait() == 0


@pytest.mark.slow
def test_ctrl_c_at_the_prompt_warns_then_exits_and_ctrl_d_leaves_cleanly(tiny_checkpoint, tmp_path):  # noqa: F811
    t = Terminal("--checkpoint", tiny_checkpoint, "--interactive", home=tmp_path)
    t.expect(PROMPT)
    t.interrupt()
    t.expect(r"Ctrl-C again to exit")
    t.line("/show")  # a command in between: the next Ctrl-C is a first one again
    t.expect(r"max_new_tokens")
    t.expect(PROMPT)
    t.interrupt()
    t.expect(r"Ctrl-C again to exit")
    t.interrupt()
    assert t.wait() == 0
    d = Terminal("--checkpoint", tiny_checkpoint, "--interactive", home=tmp_path)
    d.expect(PROMPT)
    d.send("\x04")
    assert d.wait() == 0
    assert d.buffer.endswith("\n")  # the shell prompt starts on a fresh line
