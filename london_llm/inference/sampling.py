"""Sampling parameters and the one function that turns a batch of logits into next tokens.

The order is transformers' own (repetition penalty, suppressed ids, then temperature, top-k,
top-p, min-p), so `greedy` here and `generate(do_sample=False)` pick the same tokens. Each row of
a batch may carry its own parameters and its own torch.Generator: a request's samples depend only
on its seed, never on what else shares the batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Optional, Sequence

import torch

from london_llm.inference.errors import InferenceError

MAX_STOP_STRINGS = 8
MAX_STOP_CHARS = 200


@dataclass
class SamplingParams:
    max_new_tokens: int = 100
    temperature: float = 1.0
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    min_p: Optional[float] = None
    repetition_penalty: float = 1.0
    greedy: bool = False
    seed: Optional[int] = None
    stop: Sequence[str] = field(default_factory=tuple)

    def validated(self) -> "SamplingParams":
        """A copy with values normalised (top_k 0 and top_p 1 mean off), or InferenceError naming the field."""
        def bad(name, value, rule):
            raise InferenceError(f"{name}={value!r}: {rule}")

        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            bad("max_new_tokens", self.max_new_tokens, "must be a whole number of at least 1")
        for name in ("temperature", "repetition_penalty"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                bad(name, value, "must be a number")
        if self.temperature < 0:
            bad("temperature", self.temperature, "must be 0 (greedy) or more")
        if self.repetition_penalty <= 0:
            bad("repetition_penalty", self.repetition_penalty, "must be above 0 (1 is off)")
        top_k = self.top_k
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
                bad("top_k", top_k, "must be a whole number, 0 or more (0 is off)")
            top_k = top_k or None
        top_p = self.top_p
        if top_p is not None:
            if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
                bad("top_p", top_p, "must be in (0, 1] (1 is off)")
            top_p = None if top_p >= 1 else float(top_p)
        min_p = self.min_p
        if min_p is not None:
            if isinstance(min_p, bool) or not isinstance(min_p, (int, float)) or not 0 <= min_p <= 1:
                bad("min_p", min_p, "must be in [0, 1] (0 is off)")
            min_p = float(min_p) or None
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or not 0 <= self.seed < 2**63):
            bad("seed", self.seed, "must be a whole number from 0 to 2**63-1")
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        if len(stop) > MAX_STOP_STRINGS:
            bad("stop", stop, f"at most {MAX_STOP_STRINGS} stop strings")
        for s in stop:
            if not isinstance(s, str) or not s or len(s) > MAX_STOP_CHARS:
                bad("stop", s, f"each stop string must be non-empty text of at most {MAX_STOP_CHARS} characters")
        greedy = bool(self.greedy) or self.temperature == 0
        return replace(self, top_k=top_k, top_p=top_p, min_p=min_p, stop=stop, greedy=greedy,
                       temperature=float(self.temperature), repetition_penalty=float(self.repetition_penalty))

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["stop"] = list(out["stop"])
        return out


def make_generator(seed: Optional[int], device: torch.device) -> tuple[torch.Generator, int]:
    """A generator for one sample and the seed it got (a fresh random one when `seed` is None)."""
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())  # from the global RNG: varies run to run
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen, seed


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: torch.Tensor) -> torch.Tensor:
    """transformers' rule: a seen token's positive logit is divided by the penalty, a negative one multiplied."""
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def filter_logits(logits: torch.Tensor, rows: Sequence[SamplingParams]) -> torch.Tensor:
    """Temperature, top-k, top-p and min-p for each sampled row (float32 logits [B, V]); -inf drops a token.
    (next_tokens takes a faster path for rows with top-k; this is the whole-vocabulary rule.)"""
    out = logits / torch.tensor([p.temperature for p in rows], dtype=logits.dtype, device=logits.device)[:, None]
    neg_inf = float("-inf")
    vocab = out.shape[-1]
    ks = [min(p.top_k, vocab) if p.top_k else 0 for p in rows]
    if any(ks):
        kmax = max(ks)
        kth = torch.topk(out, kmax, dim=-1).values  # [B, kmax], descending
        index = torch.tensor([max(k, 1) - 1 for k in ks], device=out.device)[:, None]
        threshold = kth.gather(1, index)
        active = torch.tensor([k > 0 for k in ks], device=out.device)[:, None]
        out = out.masked_fill(active & (out < threshold), neg_inf)
    if any(p.top_p is not None for p in rows):
        top_p = torch.tensor([p.top_p if p.top_p is not None else 1.0 for p in rows], device=out.device)[:, None]
        sorted_logits, order = torch.sort(out, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative <= (1 - top_p)  # the low tail whose mass is within 1 - top_p
        drop_sorted[:, -1] = False  # always keep the most likely token
        drop = drop_sorted.scatter(1, order, drop_sorted)
        out = out.masked_fill(drop & (top_p < 1.0), neg_inf)
    if any(p.min_p is not None for p in rows):
        min_p = torch.tensor([p.min_p or 0.0 for p in rows], device=out.device)[:, None]
        probs = out.softmax(dim=-1)
        threshold = probs.max(dim=-1, keepdim=True).values * min_p
        out = out.masked_fill(probs < threshold, neg_inf)
    return out


def top_k_distribution(logits: torch.Tensor, rows: Sequence[SamplingParams]) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities [B, kmax], their token ids) for rows with top-k: the filters on the k candidates only
    (sorted by topk), not the whole vocabulary: the same distribution as filter_logits, without a sort of
    30,000 logits per step."""
    device = logits.device
    scaled = logits / torch.tensor([p.temperature for p in rows], dtype=logits.dtype, device=device)[:, None]
    ks = [min(p.top_k, logits.shape[-1]) for p in rows]
    values, candidates = torch.topk(scaled, max(ks), dim=-1)  # descending
    beyond = torch.arange(values.shape[1], device=device)[None, :] >= torch.tensor(ks, device=device)[:, None]
    values = values.masked_fill(beyond, float("-inf"))
    if any(p.top_p is not None for p in rows):  # keep the smallest prefix whose mass reaches top_p
        top_p = torch.tensor([p.top_p if p.top_p is not None else 2.0 for p in rows], device=device)[:, None]
        probs = values.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs
        values = values.masked_fill(before >= top_p, float("-inf"))
    if any(p.min_p is not None for p in rows):
        min_p = torch.tensor([p.min_p or 0.0 for p in rows], device=device)[:, None]
        probs = values.softmax(dim=-1)
        values = values.masked_fill(probs < probs[:, :1] * min_p, float("-inf"))
    return values.softmax(dim=-1), candidates


def _sample_top_k(logits: torch.Tensor, rows: Sequence[SamplingParams], generators) -> torch.Tensor:
    probs, candidates = top_k_distribution(logits, rows)
    picks = torch.cat([torch.multinomial(probs[j], 1, generator=generators[j]) for j in range(len(rows))])
    return candidates.gather(1, picks[:, None])[:, 0]


def next_tokens(logits: torch.Tensor, rows: Sequence[SamplingParams], generators: Sequence[torch.Generator],
                seen: Optional[torch.Tensor], suppress: Optional[torch.Tensor]) -> torch.Tensor:
    """One token per row from `logits` [B, V] (float32): greedy rows take the argmax, others sample
    from their filtered distribution with their own generator. `seen` [B, V] bool marks the tokens
    the repetition penalty applies to; `suppress` [V] bool the ids never to emit."""
    logits = logits.float()
    penalties = [p.repetition_penalty for p in rows]
    if seen is not None and any(x != 1.0 for x in penalties):
        penalty = torch.tensor(penalties, dtype=logits.dtype, device=logits.device)[:, None]
        logits = apply_repetition_penalty(logits, seen, penalty)
    if suppress is not None:
        logits = logits.masked_fill(suppress, float("-inf"))
    chosen = torch.empty(len(rows), dtype=torch.long, device=logits.device)
    greedy = [i for i, p in enumerate(rows) if p.greedy]
    sampled = [i for i, p in enumerate(rows) if not p.greedy]
    if greedy:
        index = torch.tensor(greedy, device=logits.device)
        chosen[index] = logits[index].argmax(dim=-1)
    with_k = [i for i in sampled if rows[i].top_k]
    if with_k:
        index = torch.tensor(with_k, device=logits.device)
        chosen[index] = _sample_top_k(logits[index], [rows[i] for i in with_k], [generators[i] for i in with_k])
    full = [i for i in sampled if not rows[i].top_k]
    if full:
        index = torch.tensor(full, device=logits.device)
        filtered = filter_logits(logits[index], [rows[i] for i in full])
        probs = filtered.softmax(dim=-1)
        for j, i in enumerate(full):
            chosen[i] = torch.multinomial(probs[j], 1, generator=generators[i])[0]
    return chosen
