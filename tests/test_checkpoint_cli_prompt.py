"""Prompts given to the checkpoint check are bounded, whether typed or passed with --prompt."""
from __future__ import annotations

from types import SimpleNamespace

from london_llm.inference import check_cli as checkpoint_cli


def test_a_prompt_from_the_command_line_is_bounded_like_a_typed_one(capsys):
    seen = []
    check = SimpleNamespace(generate=lambda model, tok, prompt, *rest, **kw: seen.append(prompt) or "")
    args = SimpleNamespace(max_new_tokens=5, temperature=0.0, top_k=1, seed=1)
    checkpoint_cli._show(check, None, None, "x" * 1_000_000, args)
    assert len(seen[0]) == checkpoint_cli.MAX_PROMPT_CHARS
