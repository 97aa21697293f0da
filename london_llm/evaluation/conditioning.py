"""Do the conditioning tags help? Held-out document openings scored three ways.

Training put `<|kind:K|><|period:S-E|>` after <|endoftext|> at the head of every document; this
scores the same opening text (only its own tokens) after its own tags, after wrong ones (another
kind the tokenizer knows and the known period farthest from the document's), and after none.
The harness cannot do this: its rolling log-likelihood has no unscored prefix, and its
loglikelihood requests are cut to fit from the left, which would drop the tags first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from london_llm.evaluation.heldout import Passage
from london_llm.tags import period_tag

LN2 = math.log(2)
CONDITIONS = ("own", "wrong", "none")


@dataclass
class Scored:
    kind: str
    bytes: int
    bits: dict[str, float]  # condition -> bits over the text's tokens


def _kinds(tags: Sequence[str]) -> list[str]:
    return sorted(t for t in tags if t.startswith("<|kind:"))


def _periods(tags: Sequence[str]) -> list[str]:
    return sorted(t for t in tags if t.startswith("<|period:"))


def _start(tag: str) -> int:
    return int(tag[len("<|period:"):].split("-")[0])


def tag_sets(kind: str, year: Optional[int], known: Sequence[str]) -> Optional[dict[str, list[str]]]:
    """own / wrong / none tag lists for a document, or None if its own kind tag is unknown."""
    kinds, periods = _kinds(known), _periods(known)
    own_kind = f"<|kind:{kind}|>"
    if own_kind not in kinds:
        return None
    own = [own_kind]
    own_period = period_tag(year)
    if own_period in periods:
        own.append(own_period)
    others = [k for k in kinds if k != own_kind]
    wrong = [others[0]] if others else []
    if periods:
        ref = _start(own_period) if own_period else None
        far = max(periods, key=lambda p: abs(_start(p) - ref)) if ref is not None else periods[-1]
        if far != own_period:
            wrong.append(far)
    if wrong == [] or wrong == own:
        return None
    return {"own": own, "wrong": wrong, "none": []}


@torch.inference_mode()
def score_passages(model, tokenizer, passages: list[Passage], known_tags: Sequence[str],
                   progress=None) -> list[Scored]:
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    context = int(model.config.n_positions)
    device = next(model.parameters()).device
    out: list[Scored] = []
    for p in passages:
        sets = tag_sets(p.kind, p.year, known_tags)
        if sets is not None:
            room = context - 1 - max(len(v) for v in sets.values())
            ids = tokenizer(p.text, add_special_tokens=False).input_ids[:room]
            if len(ids) >= 2:
                n_bytes = len(tokenizer.decode(ids).encode("utf-8"))
                bits = {}
                for name, tag_list in sets.items():
                    prefix = [bos] + tokenizer.convert_tokens_to_ids(tag_list)
                    x = torch.tensor([prefix + ids], device=device)
                    logits = model(input_ids=x, use_cache=False).logits[0].float()
                    logp = torch.log_softmax(logits[len(prefix) - 1:-1], dim=-1)
                    nats = -logp.gather(1, x[0, len(prefix):, None]).sum().item()
                    bits[name] = nats / LN2
                out.append(Scored(p.kind, n_bytes, bits))
        if progress is not None:
            progress.update(1)
    return out
