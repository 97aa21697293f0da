"""london_llm.training.reporting: where reports go (W&B mode)."""
from __future__ import annotations

from london_llm.training.reporting import wandb_mode


def test_wandb_mode_never_goes_online_without_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert wandb_mode(False) == "offline"
    assert wandb_mode(True) == "disabled"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode(False) == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode(False) == "disabled"
