"""`huggingface-cli`, the guide's login command (`pip install huggingface_hub; huggingface-cli login`):
huggingface_hub >= 1.0 installs only `hf`, so the project installs this name itself and maps the old
spellings. Run as the module the entry point calls, against the loopback Hub stub (never the network)."""
from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import REPO
from publishing_helpers import TOKEN, USER, hub, offline_env, online_env  # noqa: F401

from london_llm.publishing.hub_cli import hf_words


def hub_cli(*words, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "london_llm.publishing.hub_cli", *words], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, cwd=REPO)


def test_the_old_spellings_map_to_hf():
    assert hf_words(["login", "--token", "x"]) == ["auth", "login", "--token", "x"]
    assert hf_words(["whoami"]) == ["auth", "whoami"]
    assert hf_words(["repo", "create", "me/x"]) == ["repos", "create", "me/x"]
    assert hf_words(["download", "gpt2"]) == ["download", "gpt2"]
    assert hf_words([]) == []


def test_the_project_installs_the_guides_command():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["huggingface-cli"] == "london_llm.publishing.hub_cli:main"


def test_login_with_a_token_then_whoami_against_the_stub(hub, tmp_path):  # noqa: F811
    env = online_env(tmp_path, hub.url, token=None)
    before = hub_cli("whoami", env=env)
    assert before.returncode != 0 and "Not logged in" in before.stdout + before.stderr, before
    login = hub_cli("login", "--token", TOKEN, env=env)
    assert login.returncode == 0, login.stdout + login.stderr
    assert "running `hf auth login`" in login.stderr and TOKEN not in login.stdout + login.stderr
    after = hub_cli("whoami", env=env)
    assert after.returncode == 0 and USER in after.stdout, after
