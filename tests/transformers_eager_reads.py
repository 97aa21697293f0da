"""transformers' data-dependent checks in an eager GPT-2 forward, each a host read of a device
tensor (a sync on CUDA, an error under torch.cuda.set_sync_debug_mode("error")): the padding
warning's `pad_token_id in input_ids[:, [-1, 0]]` and the packed-sequence test on the position ids
(masking_utils.find_packed_sequence_indices). Compiled, transformers skips both (is_tracing), which
is why --compile auto is on for CUDA. The CUDA test of "no host sync per step" switches them off in
its eager case so it checks the project's own step; tests/training/test_host_sync.py checks on the
CPU that these two are the only reads an eager step makes."""
from __future__ import annotations


def quiet_transformers_eager_checks(monkeypatch, lm) -> None:
    """No-ops for the two checks on `lm` (a GPT2LMHeadModel): the packing test's None is its own
    answer for unpacked rows (one sequence per row), which is what training windows are."""
    from transformers import masking_utils

    monkeypatch.setattr(lm.transformer, "warn_if_padding_and_no_attention_mask", lambda *args, **kwargs: None)
    monkeypatch.setattr(masking_utils, "find_packed_sequence_indices", lambda position_ids: None)
