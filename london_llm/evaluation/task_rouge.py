"""The ROUGE task: greedy continuations of held-out passages against their real continuations, with
the untrained and unigram baselines.

`run` is the runner's Run: its settings (`s`), budget and baseline cache.
"""
from __future__ import annotations

from typing import Any

from tqdm import tqdm

from london_llm.evaluation.results import metric
from london_llm.evaluation.stats import mean_stderr


def rouge_entry(run, loaded, held, unigram) -> dict[str, Any]:
    from london_llm.evaluation.generation import generate, prompt_from_passage
    from london_llm.evaluation.rouge import ROUGE_TYPES, rouge_scores

    b = run.budget
    prompts = [p for p in (prompt_from_passage(x, 32, b.rouge_tokens)
                           for x in held["prompt_passages"][: b.rouge_passages]) if p and p.reference]

    def scores(model_loaded, desc):
        with tqdm(total=len(prompts), desc=desc, unit="passage") as bar:
            samples = generate(model_loaded, prompts, n=1, max_new_tokens=b.rouge_tokens, seed=run.s.seed,
                               greedy=True, progress=bar)
        return rouge_scores([s.text for s in samples], [p.reference for p in prompts]), samples

    per, samples = scores(loaded, "ROUGE continuations")
    metrics = {t: metric(*mean_stderr(per[t]), len(prompts)) for t in ROUGE_TYPES}
    base: dict[str, dict] = {}
    if run.s.baselines:
        up, _ = run.baselines.once(("rouge",), loaded, lambda: scores(
            run.baselines.untrained_loaded(loaded), "ROUGE (untrained)"))
        base["untrained"] = {t: metric(*mean_stderr(up[t]), len(prompts)) for t in ROUGE_TYPES}
        if unigram is not None:  # the unigram model's greedy continuation: its most frequent token, repeated
            import numpy as np

            top = int(np.argmax(unigram.log2p[2:])) + 2
            text = loaded.tokenizer.decode([top] * b.rouge_tokens)
            ug = rouge_scores([text] * len(prompts), [p.reference for p in prompts])
            base["unigram"] = {t: metric(*mean_stderr(ug[t]), len(prompts)) for t in ROUGE_TYPES}
    return {"engine": "rouge-score (normalised, no stemming)", "metrics": metrics, "baselines": base,
            "details": {"passages": len(prompts), "prompt_words": 32, "max_new_tokens": b.rouge_tokens,
                        "decoding": "greedy",
                        "examples": [{"prompt": p.text, "reference": p.reference, "generated": s.text}
                                     for p, s in list(zip(prompts, samples))[:3]]}}
