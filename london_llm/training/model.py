"""The model: transformers' GPT2LMHeadModel with SDPA attention, sized by a TrainConfig.

The embedding is padded to a multiple of `pad_vocab_to_multiple` (faster matmuls); config.json
records the padded size and `tokenizer_vocab_size` the real one; generation_config.json lists the
padded ids in `suppress_tokens`, so `generate()` never emits them, whoever calls it.
"""
from __future__ import annotations

import torch
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

from london_llm.settings import TrainConfig


def padded_vocab_size(vocab_size: int, multiple: int) -> int:
    multiple = max(1, int(multiple))
    return (vocab_size + multiple - 1) // multiple * multiple


def gpt2_config(config: TrainConfig, vocab_size: int, bos_id: int, eos_id: int, pad_id: int | None = None) -> GPT2Config:
    """A GPT2Config for `config`'s shape and the tokenizer's real `vocab_size` (padded)."""
    return GPT2Config(
        vocab_size=padded_vocab_size(vocab_size, config.pad_vocab_to_multiple),
        n_positions=config.max_length,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id if pad_id is not None else eos_id,
        tie_word_embeddings=True,
        # GPT-2's tanh GELU as one fused kernel (gelu_new is the same function in five Python ops)
        activation_function="gelu_pytorch_tanh",
        use_cache=True,
        # the tokenizer's true size: ids at or above it are padding and must never be generated
        tokenizer_vocab_size=vocab_size,
    )


def build_model(config: TrainConfig, vocab_size: int, bos_id: int, eos_id: int,
                pad_id: int | None = None, seed: int | None = None) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 (seeded, so runs are reproducible), SDPA attention, tied weights."""
    if seed is not None:
        torch.manual_seed(seed)
    hf_config = gpt2_config(config, vocab_size, bos_id, eos_id, pad_id)
    model = GPT2LMHeadModel(hf_config)
    model.config._attn_implementation = "sdpa"
    model.tie_weights()
    return model


# The attention the training loss runs (see whole_sequence_attention).
WHOLE_SEQUENCE_ATTENTION = "london_llm_whole_sequence_sdpa"


def whole_sequence_attention(model: GPT2LMHeadModel) -> GPT2LMHeadModel:
    """Switch a model that only ever sees whole, unpadded causal sequences (training and its
    validation loss) to SDPA with is_causal and no mask, eager or compiled.

    Eager, transformers already calls SDPA so. Under torch.compile it cannot tell that the mask is
    plain causal (before torch 2.14, see masking_utils._ignore_causal_mask_sdpa), so it builds the
    mask and hands it to SDPA, and a mask rules out the flash kernel. transformers makes no mask for
    an attention name without a mask function: this one is its own SDPA function under another name.
    Padding would be ignored, so it is for the training loss only: the name is not saved in
    config.json (transformers does not write it), so every checkpoint loads with plain sdpa."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    AttentionInterface.register(WHOLE_SEQUENCE_ATTENTION, sdpa_attention_forward)
    model.config._attn_implementation = WHOLE_SEQUENCE_ATTENTION
    return model


def generation_config(model_config: GPT2Config) -> GenerationConfig:
    """Sampling defaults, with the padded embedding rows suppressed (they are not tokens)."""
    real = getattr(model_config, "tokenizer_vocab_size", model_config.vocab_size)
    padded_ids = list(range(real, model_config.vocab_size))
    return GenerationConfig(bos_token_id=model_config.bos_token_id, eos_token_id=model_config.eos_token_id,
                            pad_token_id=model_config.pad_token_id, do_sample=True, temperature=0.8,
                            top_k=50, max_new_tokens=100, suppress_tokens=padded_ids or None)


def parameter_count(model: torch.nn.Module, exclude_position_embeddings: bool = True) -> int:
    n = sum(p.numel() for p in model.parameters())
    if exclude_position_embeddings:
        n -= model.transformer.wpe.weight.numel()
    return n


def flops_per_token(model: torch.nn.Module, n_layer: int, n_embd: int, context: int) -> float:
    """Training FLOPs per token (forward + backward): 6N + 12·L·d·T (PaLM appendix B, nanoGPT)."""
    return 6 * parameter_count(model) + 12 * n_layer * n_embd * context
