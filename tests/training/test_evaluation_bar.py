"""The in-training evaluation shows a bar with ETA on rank 0 (the slm preset's takes minutes on a
CPU), and counting it reads nothing back from the device per batch."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import torch

from london_llm.training import loop
from london_llm.training.distributed import DistContext
from london_llm.training.fused_loss import CausalLMLoss
from london_llm.training.model import build_model
from london_llm.pretokenize.format import open_tokens

from .test_host_sync import HostReads, job


def _model_and_job(tmp_path, main=True):
    ctx = DistContext(0, 0, 1, torch.device("cpu"), None)
    the_job = job(tmp_path, ctx)
    if not main:  # rank 0's batches, another rank's reporting
        the_job.ctx = SimpleNamespace(rank=0, world_size=1, device=ctx.device, enabled=False, is_main=False)
    cfg = the_job.config
    model = CausalLMLoss(build_model(cfg, the_job.vocab_size, 0, 0, None, seed=0))
    return model, the_job, open_tokens(the_job.data_dir, "val")


def test_rank0_shows_the_evaluation_batches_with_an_eta(tmp_path, capsys):
    model, the_job, val = _model_and_job(tmp_path)
    loss = loop.estimate_loss(model, val, the_job, desc="evaluating step 5: val")
    err = capsys.readouterr().err
    assert loss == loss  # finite
    assert "evaluating step 5: val" in err and f"0/{the_job.config.eval_iters} [" in err, err


def test_other_ranks_and_plain_calls_show_no_bar(tmp_path, capsys):
    model, the_job, val = _model_and_job(tmp_path, main=False)
    loop.estimate_loss(model, val, the_job, desc="evaluating step 5: val")
    (tmp_path / "plain").mkdir()
    model, the_job, val = _model_and_job(tmp_path / "plain")
    loop.estimate_loss(model, val, the_job)
    assert "evaluating" not in capsys.readouterr().err


def test_the_bar_adds_no_host_read_per_batch(tmp_path):
    (tmp_path / "plain").mkdir()
    sites = {}
    for path, desc in ((tmp_path, "evaluating"), (tmp_path / "plain", None)):
        model, the_job, val = _model_and_job(path)
        the_job.config = dataclasses.replace(the_job.config, eval_iters=6)
        reads = HostReads()
        with reads:
            loop.estimate_loss(model, val, the_job, desc=desc)
        sites[desc] = reads.sites
    # the reads of the summed loss at the end only, bar or not: none per batch
    assert sites["evaluating"] == sites[None] and len(sites[None]) < 6, sites
