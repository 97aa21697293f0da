"""The round-trip gate: the exported folder, loaded as a user will load it, must be the checkpoint.

`AutoModelForCausalLM` and `AutoTokenizer` on the export must give the same token ids and the
same logits as the checkpoint loaded by the inference core (london_llm.inference.loading) on fixed inputs (bitwise here: the weights are the same bytes
and the same code runs; a tolerance of 1e-5 covers a library change of kernel order), or nothing
is uploaded.
"""
from __future__ import annotations

from pathlib import Path

from .errors import PublishError

FIXED_TEXTS = (
    "The prisoner was indicted for feloniously stealing a silver watch, value 40 s.",
    "It was upon a Monday, in the year of our Lord 1666, that the fire began in Pudding Lane.",
    "Mr. Pepys went by water to White-hall, where he met with my Lord, and so home to dinner.",
)
TOLERANCE = 1e-5


def fixed_inputs(tokenizer, tags: list[str]) -> list[list[int]]:
    """Each text after <|endoftext|>, with and without the first conditioning tag, as documents begin."""
    eos = tokenizer.eos_token_id
    heads = [[eos]] + ([[eos, tokenizer.convert_tokens_to_ids(tags[0])]] if tags else [])
    return [head + tokenizer(text, add_special_tokens=False).input_ids for text in FIXED_TEXTS for head in heads]


def check_roundtrip(checkpoint: Path, folder: Path, tags: list[str] = ()) -> float:
    """Largest absolute logit difference between checkpoint and export; PublishError past TOLERANCE."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # two "Loading weights" bars say nothing a user needs
    try:
        exported = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        exported_tok = AutoTokenizer.from_pretrained(folder)
    except Exception as exc:  # whatever transformers raises, the export does not load: refuse it
        raise PublishError(f"the exported folder does not load with AutoModelForCausalLM/AutoTokenizer "
                           f"({type(exc).__name__}: {exc}); nothing was uploaded") from None
    from london_llm.inference.loading import load_model

    loaded = load_model(Path(checkpoint), device="cpu", dtype="fp32")  # the project's one loader, its checks
    reference, reference_tok = loaded.model, loaded.tokenizer
    inputs = fixed_inputs(reference_tok, list(tags))
    if fixed_inputs(exported_tok, list(tags)) != inputs:
        raise PublishError("the exported tokenizer encodes the fixed inputs differently from the checkpoint's; "
                           "nothing was uploaded")
    worst = 0.0
    with torch.no_grad():
        for ids in inputs:
            x = torch.tensor([ids])
            a, b = reference(x).logits, exported(x).logits
            if a.shape != b.shape:
                raise PublishError(f"the export's logits have shape {tuple(b.shape)}, the checkpoint's "
                                   f"{tuple(a.shape)}; nothing was uploaded")
            worst = max(worst, float((a - b).abs().max()))
    if worst > TOLERANCE:
        raise PublishError(f"the exported model's logits differ from the checkpoint's by up to {worst:.3g} "
                           f"(allowed {TOLERANCE}); nothing was uploaded")
    return worst
