"""london_llm.training.model: the GPT-2 model as the loop builds it."""
from __future__ import annotations

import pytest
import torch

from london_llm.training.model import (WHOLE_SEQUENCE_ATTENTION, build_model, flops_per_token, generation_config,
                                       padded_vocab_size, whole_sequence_attention)
from london_llm.settings import TrainConfig


SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


def test_model_pads_vocab_ties_weights_and_uses_sdpa():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, pad_id=1, seed=3)
    assert model.config.vocab_size == 128 and model.config.tokenizer_vocab_size == 100
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    assert model.config._attn_implementation == "sdpa"
    again = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=3)
    assert torch.equal(model.transformer.h[0].attn.c_attn.weight, again.transformer.h[0].attn.c_attn.weight)
    gen = generation_config(model.config)
    assert gen.suppress_tokens == list(range(100, 128))
    assert padded_vocab_size(30_000, 64) == 30_016 and padded_vocab_size(100, 1) == 100


def test_flops_per_token_matches_the_6n_rule():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    n = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    assert flops_per_token(model, 1, 16, 8) == 6 * n + 12 * 1 * 16 * 8


def _sdpa_calls(compiled: bool, whole_sequence: bool = True) -> list[dict]:
    """The keyword arguments of every SDPA call in a training forward, eager or as torch.compile traces it."""
    from london_llm.training.fused_loss import CausalLMLoss

    lm = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=0).train()
    model = CausalLMLoss(whole_sequence_attention(lm) if whole_sequence else lm)
    x = torch.randint(0, 100, (2, 8))
    calls = []
    if compiled:
        def backend(gm, example_inputs):
            calls.extend(dict(n.kwargs) for n in gm.graph.nodes if "scaled_dot_product" in str(n.target))
            return gm.forward
        torch.compile(model, backend=backend, fullgraph=True)(x, x)
        torch._dynamo.reset()
    else:
        real = torch.nn.functional.scaled_dot_product_attention

        def spy(*args, **kwargs):
            calls.append(kwargs)
            return real(*args, **kwargs)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
            model(x, x)
    assert calls
    return calls


def _causal_without_mask(calls) -> bool:  # what lets SDPA pick its flash kernel
    return all(c.get("attn_mask") is None and c.get("is_causal") for c in calls)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_training_attention_is_causal_without_a_mask_so_the_flash_kernel_can_run(compiled):
    assert _causal_without_mask(_sdpa_calls(compiled))


def test_plain_sdpa_under_compile_gets_a_mask_which_is_why_training_switches():
    # transformers 5.24 with torch < 2.14 (masking_utils._ignore_causal_mask_sdpa); when a later
    # version stops building the mask, the switch is no longer needed (this test says so by failing)
    assert _causal_without_mask(_sdpa_calls(compiled=False, whole_sequence=False))
    assert not _causal_without_mask(_sdpa_calls(compiled=True, whole_sequence=False))


def test_whole_sequence_attention_computes_what_sdpa_does_and_is_not_saved(tmp_path):
    from transformers import AutoModelForCausalLM

    x = torch.randint(0, 100, (2, 8))
    plain = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=0).eval()
    expected = plain(input_ids=x).logits
    switched = whole_sequence_attention(plain)
    assert switched.config._attn_implementation == WHOLE_SEQUENCE_ATTENTION
    assert torch.equal(switched(input_ids=x).logits, expected)
    switched.save_pretrained(tmp_path)
    assert "london_llm" not in (tmp_path / "config.json").read_text()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert loaded.config._attn_implementation == "sdpa"
    assert torch.equal(loaded(input_ids=x).logits, expected)
