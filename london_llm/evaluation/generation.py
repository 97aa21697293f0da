"""Generation-based tasks on the inference core: anachronism rate, ROUGE of continuations, and
the samples a person rates (human evaluation).

Prompts come from two places: the guide's own test prompts, and openings cut from held-out
documents (given their own kind and period tags when the tokenizer knows them, so the model
writes as the document's era). Sampling is seeded per prompt, so a run is repeatable.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

from london_llm.evaluation.heldout import Passage
from london_llm.evaluation.lexicon import CUTOFF_YEAR, Matcher, count_words
from london_llm.inference.engine import Engine
from london_llm.inference.loading import LoadedModel
from london_llm.inference.sampling import SamplingParams

GUIDE_PROMPTS = (  # the test prompts of the user's guide (TRAINING_GUIDE.md)
    "In the year 1834, I walked through the streets of London",
    "The gentleman from the country said, 'I have never seen such a sight",
    "Parliament sat in Westminster Hall",
    "The Great Fire of 1666 had destroyed",
)


@dataclass(frozen=True)
class Prompt:
    text: str  # shown to a person and fed to the model (after tags)
    source: str  # "guide" or "heldout:<doc id>"
    kind: Optional[str] = None
    year: Optional[int] = None
    reference: str = ""  # the true continuation, for held-out prompts


@dataclass
class Sample:
    prompt: Prompt
    text: str
    words: int = 0
    hits: list = field(default_factory=list)


def prompt_from_passage(p: Passage, prompt_words: int, continuation_words: int) -> Optional[Prompt]:
    words = p.text.split()
    if len(words) < prompt_words + 4:
        return None
    return Prompt(" ".join(words[:prompt_words]), f"heldout:{p.doc_id}", p.kind, p.year,
                  " ".join(words[prompt_words:prompt_words + continuation_words]))


def tagged(prompt: Prompt, known_tags: Sequence[str]) -> str:
    """The prompt with its document's kind and period tags where the tokenizer knows them."""
    from london_llm.inference.prompts import build_prompt
    from london_llm.tags import period_tag

    known = set(known_tags)
    kind = prompt.kind if prompt.kind and f"<|kind:{prompt.kind}|>" in known else None
    year = prompt.year if prompt.year is not None and period_tag(prompt.year) in known else None
    if kind is None and year is None:
        return build_prompt(prompt.text, kind="none", known_tags=known_tags) if known else prompt.text
    return build_prompt(prompt.text, kind=kind or "none", year=year, known_tags=known_tags)


def fit(engine: Engine, prompt: Prompt, known_tags: Sequence[str]) -> tuple[Prompt, str, int]:
    """The prompt, its leading words dropped until it takes at most half the context (a small
    model's context is short; the words nearest the continuation are the ones kept)."""
    from dataclasses import replace

    words = prompt.text.split()
    while True:
        text = tagged(prompt, known_tags)
        n = len(engine.encode(text))
        if n <= engine.context_length // 2 or len(words) <= 2:
            return prompt, text, n
        words = words[max(1, len(words) // 4):]
        prompt = replace(prompt, text=" ".join(words))


def generate(loaded: LoadedModel, prompts: Sequence[Prompt], *, n: int, max_new_tokens: int, seed: int,
             greedy: bool = False, temperature: float = 0.8, top_p: float = 0.95, progress=None) -> list[Sample]:
    """n samples per prompt (one seeded request per prompt, decoded together in one batch)."""
    engine = Engine(loaded)
    requests = []
    out_prompts = []
    for i, prompt in enumerate(prompts):
        prompt, text, ids_len = fit(engine, prompt, loaded.conditioning_tags)
        out_prompts.append(prompt)
        room = max(1, min(max_new_tokens, engine.context_length - ids_len))
        params = SamplingParams(max_new_tokens=room, greedy=greedy, temperature=temperature,
                                top_p=None if greedy else top_p, seed=seed + i)
        requests.append((prompt, engine.request(text, params, 1 if greedy else n)))
    prompts = out_prompts
    batch = 16
    for start in range(0, len(requests), batch):
        engine.run([r for _p, r in requests[start:start + batch]])
        if progress is not None:
            progress.update(min(batch, len(requests) - start))
    samples = []
    for prompt, req in requests:
        for completion in req.completions:
            samples.append(Sample(prompt, completion.text if completion else ""))
    return samples


def count_anachronisms(samples: list[Sample], matcher: Matcher, reference_year: int = CUTOFF_YEAR,
                       by_prompt_year: bool = False) -> None:
    """Fills each sample's word count and lexicon hits (years after the reference year)."""
    for s in samples:
        s.words = count_words(s.text)
        year = s.prompt.year if by_prompt_year and s.prompt.year is not None else reference_year
        s.hits = matcher.find(s.text, year)


def words_found(samples: list[Sample]) -> list[dict]:
    counts = Counter((h.term, h.year, h.kind) for s in samples for h in s.hits)
    return [{"term": t, "year": y, "kind": k, "count": c} for (t, y, k), c in counts.most_common()]


def unigram_texts(unigram, tokenizer, n: int, n_tokens: int, seed: int, suppressed: set[int]) -> list[str]:
    """Texts sampled from the unigram distribution (the unigram baseline's 'generations')."""
    import numpy as np

    p = np.exp2(unigram.log2p)
    for i in suppressed:
        if i < len(p):
            p[i] = 0.0
    p /= p.sum()
    rng = np.random.default_rng(seed)
    return [tokenizer.decode(rng.choice(len(p), size=n_tokens, p=p).tolist()) for _ in range(n)]


def shuffled(items: list, seed: int) -> list:
    items = list(items)
    random.Random(seed).shuffle(items)
    return items
