"""config.py presets, paths, and the flag-over-preset mechanism."""
import argparse
import json
import subprocess
import sys

import pytest
from transformers import GPT2Config, GPT2LMHeadModel

import config
from london_llm.settings import TrainConfig, add_config_flags, resolve
from conftest import REPO


def _gpt2_params(cfg: TrainConfig) -> int:
    g = GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.max_length, n_embd=cfg.n_embd,
                   n_layer=cfg.n_layer, n_head=cfg.n_head)
    # meta device: count parameters without allocating 1.3 GB for the regular model
    import torch
    with torch.device("meta"):
        model = GPT2LMHeadModel(g)
    return sum(p.numel() for p in model.parameters())


def test_slm_preset_is_about_108m_parameters():
    n = _gpt2_params(config.SLM)
    assert 107e6 < n < 110e6, n


def test_regular_preset_is_about_334m_parameters():
    n = _gpt2_params(config.REGULAR)
    assert 332e6 < n < 337e6, n


def test_presets_match_the_guide():
    s, r = config.SLM, config.REGULAR
    assert (s.n_layer, s.n_head, s.n_embd, s.max_length, s.vocab_size) == (12, 12, 768, 512, 30_000)
    assert (s.batch_size, s.gradient_accumulation_steps, s.learning_rate) == (18, 1, 3e-4)
    assert (s.max_steps, s.num_epochs, s.save_steps, s.save_total_limit) == (60_000, 3, 500, 5)
    assert (r.n_layer, r.n_head, r.n_embd, r.max_length) == (24, 16, 1024, 1024)
    assert (r.batch_size, r.gradient_accumulation_steps, r.learning_rate) == (2, 4, 3e-5)
    assert (r.num_epochs, r.save_steps, r.save_total_limit) == (15, 250, 5)
    tiny_params = _gpt2_params(config.TINY)
    assert tiny_params < 2e6  # trains in minutes on two cores


def _parse(argv, preset=config.SLM):
    parser = argparse.ArgumentParser()
    add_config_flags(parser, preset)
    return resolve(preset, parser.parse_args(argv))


def test_flags_override_the_preset_and_nothing_else():
    cfg = _parse(["--batch_size", "4", "--learning-rate", "1e-4", "--max_steps", "none", "--dtype", "fp32"])
    assert cfg.batch_size == 4 and cfg.learning_rate == 1e-4 and cfg.max_steps is None and cfg.dtype == "fp32"
    assert cfg.n_layer == config.SLM.n_layer and cfg.save_steps == config.SLM.save_steps
    assert _parse([]) == config.SLM


def test_invalid_override_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="divisible"):
        _parse(["--n_head", "7"])


def test_config_round_trips_through_a_dict():
    assert TrainConfig.from_dict(config.TINY.to_dict()) == config.TINY
    with pytest.raises(ValueError, match="unknown configuration keys"):
        TrainConfig.from_dict({**config.TINY.to_dict(), "bogus": 1})


def test_paths_follow_the_repository_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("LONDON_LLM_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    p = config.paths()
    assert p.home == REPO
    assert p.corpus_file == REPO / "data/london_historical/london_historical_corpus_comprehensive.txt"
    assert p.tokenizer_dir == REPO / "09_models/tokenizers/london_historical_tokenizer"
    assert p.checkpoint_dir("slm") == REPO / "09_models/checkpoints/slm"
    assert p.checkpoint_dir("regular") == REPO / "09_models/checkpoints"
    assert p.pretokenized_dir("slm") == REPO / "09_models/checkpoints/slm/pretokenized_data"


def test_home_variable_moves_every_artifact(tmp_path, monkeypatch):
    monkeypatch.setenv("LONDON_LLM_HOME", str(tmp_path))
    p = config.paths()
    for value in p.as_dict().values():
        assert value.startswith(str(tmp_path))


def test_config_script_prints_presets_from_anywhere(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "config.py"), "--preset", "tiny"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    payload = json.loads(out)
    assert payload["presets"]["tiny"]["n_layer"] == config.TINY.n_layer


@pytest.mark.parametrize("flags, reason", [
    (["--min_lr_ratio", "-0.5"], "min_lr_ratio"), (["--min_lr_ratio", "2"], "min_lr_ratio"),
    (["--learning_rate", "0"], "learning_rate"), (["--warmup_steps", "-1"], "warmup_steps"),
    (["--grad_clip", "-1"], "grad_clip"), (["--eval_iters", "0"], "eval_iters"),
    (["--dropout", "1"], "dropout"), (["--max_steps", "0"], "max_steps"), (["--beta2", "1.5"], "beta2"),
])
def test_schedule_and_optimizer_values_out_of_range_are_refused(flags, reason):
    # a negative min_lr_ratio, say, would end the cosine schedule at a negative learning rate
    with pytest.raises(ValueError, match=reason):
        _parse(flags)


def test_parse_under_home_builds_the_defaults_under_the_flag(tmp_path, monkeypatch):
    """settings.parse_under_home: the parser's path defaults come from config.paths(--home), which beats
    LONDON_LLM_HOME; an explicit path flag beats both; an abbreviated --hom is honoured too."""
    import argparse
    from pathlib import Path

    import config
    from london_llm.settings import HOME_HELP, parse_under_home

    monkeypatch.setenv("LONDON_LLM_HOME", str(tmp_path / "env"))

    def build(home):
        p = argparse.ArgumentParser()
        p.add_argument("--home", help=HOME_HELP)
        p.add_argument("--documents", type=Path, default=config.paths(home).documents_file)
        return p

    flag = tmp_path / "flag"
    assert parse_under_home(build, []).documents == config.paths(tmp_path / "env").documents_file
    assert parse_under_home(build, ["--home", str(flag)]).documents == config.paths(flag).documents_file
    assert parse_under_home(build, [f"--home={flag}"]).documents == config.paths(flag).documents_file
    assert parse_under_home(build, ["--hom", str(flag)]).documents == config.paths(flag).documents_file
    given = parse_under_home(build, ["--home", str(flag), "--documents", "mine.jsonl"])
    assert given.documents == Path("mine.jsonl")
    with pytest.raises(SystemExit):  # the full parser's own error, not the pre-parse's
        parse_under_home(build, ["--home"])
