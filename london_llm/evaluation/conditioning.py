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


BATCH_TOKENS = 2048  # tokens per forward pass: bounds the logits (tokens x vocabulary floats)


@torch.inference_mode()
def score_passages(model, tokenizer, passages: list[Passage], known_tags: Sequence[str],
                   progress=None) -> list[Scored]:
    """Each passage's text scored after its own tags, wrong ones and none: the three sequences of
    every passage go through the model together, right-padded (the text's positions never see a
    pad), in batches of at most BATCH_TOKENS tokens."""
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else bos
    context = int(model.config.n_positions)
    device = next(model.parameters()).device
    jobs: list[tuple[int, str, list[int], int]] = []  # (passage, condition, ids, prefix length)
    out: list[Scored] = []
    owner: list[Optional[int]] = []  # passage -> index in out
    texts = [p.text for p in passages]
    encoded = tokenizer(texts, add_special_tokens=False).input_ids if texts else []
    for i, (p, ids) in enumerate(zip(passages, encoded)):
        sets = tag_sets(p.kind, p.year, known_tags)
        owner.append(None)
        if sets is None:
            continue
        ids = ids[:context - 1 - max(len(v) for v in sets.values())]
        if len(ids) < 2:
            continue
        owner[i] = len(out)
        out.append(Scored(p.kind, len(tokenizer.decode(ids).encode("utf-8")), {}))
        for name, tag_list in sets.items():
            prefix = [bos] + tokenizer.convert_tokens_to_ids(tag_list)
            jobs.append((i, name, prefix + ids, len(prefix)))
    done = [0] * len(passages)
    start = 0
    while start < len(jobs):
        end, longest = start, 0
        while end < len(jobs) and max(longest, len(jobs[end][2])) * (end - start + 1) <= max(BATCH_TOKENS, len(jobs[end][2])):
            longest = max(longest, len(jobs[end][2]))
            end += 1
        batch = jobs[start:end]
        x = torch.full((len(batch), longest), pad, dtype=torch.long, device=device)
        mask = torch.zeros_like(x)
        for r, (_i, _name, ids, _n) in enumerate(batch):
            x[r, :len(ids)] = torch.tensor(ids, device=device)
            mask[r, :len(ids)] = 1
        logp = torch.log_softmax(model(input_ids=x, attention_mask=mask, use_cache=False).logits.float(), dim=-1)
        for r, (i, name, ids, n_prefix) in enumerate(batch):
            targets = x[r, n_prefix:len(ids)]
            nats = -logp[r, n_prefix - 1:len(ids) - 1].gather(1, targets[:, None]).sum().item()
            out[owner[i]].bits[name] = nats / LN2
            done[i] += 1
            if progress is not None and done[i] == len(CONDITIONS):
                progress.update(1)
        start = end
    if progress is not None:  # passages with nothing to score
        progress.update(sum(1 for i, o in enumerate(owner) if o is None))
    return out
