"""The anachronism task: samples from the guide's prompts and held-out openings, matched against the
dated lexicon, per 1000 words (every hit, the definite ones, and against the prompt's own year), with
the untrained, unigram and held-out-text baselines.

`run` is the runner's Run: its settings (`s`), budget, prompts and baseline cache.
"""
from __future__ import annotations

import math
from typing import Any

from tqdm import tqdm

from london_llm.evaluation import baselines as bl
from london_llm.evaluation.results import metric
from london_llm.evaluation.run_settings import CUTOFF_YEAR
from london_llm.evaluation.stats import poisson_interval, ratio_stderr


def anachronism_entry(run, loaded, held, unigram) -> dict[str, Any]:
    from london_llm.evaluation.generation import (count_anachronisms, generate, unigram_texts, words_found,
                                                  Sample, Prompt)
    from london_llm.evaluation.lexicon import Matcher, read_lexicon

    matcher = Matcher(read_lexicon(run.s.tasks_dir / "data" / "lexicon.jsonl"))
    prompts = run.prompts(held)
    b = run.budget
    total = len(prompts) * b.samples_per_prompt

    def sample(model_loaded, desc):
        with tqdm(total=len(prompts), desc=desc, unit="prompt") as bar:
            return generate(model_loaded, prompts, n=b.samples_per_prompt, max_new_tokens=b.gen_tokens,
                            seed=run.s.seed, progress=bar)

    samples = sample(loaded, "anachronism samples")

    def rate(samples_, definite_only=False):  # of samples already counted (count_anachronisms)
        per_sample = [sum(1 for h in s.hits if h.definite or not definite_only) for s in samples_]
        hits = sum(per_sample)
        words = sum(s.words for s in samples_)
        value, se = ratio_stderr([1000 * k for k in per_sample], [s.words for s in samples_])
        low, high = poisson_interval(hits)
        ci = (1000 * low / words, 1000 * high / words) if words else (math.nan, math.nan)
        return metric(value if words else math.nan, se, words, higher_is_better=False, ci95=ci), hits, words

    def rates(samples_):  # every hit, and without the "sense" entries a word match cannot confirm
        count_anachronisms(samples_, matcher)
        return {"per_1000_words": rate(samples_)[0], "per_1000_words_definite": rate(samples_, True)[0]}

    count_anachronisms(samples, matcher)
    m, hits, words = rate(samples)
    definite, definite_hits, _ = rate(samples, definite_only=True)
    metrics = {"per_1000_words": m, "per_1000_words_definite": definite}
    period_samples = [Sample(s.prompt, s.text) for s in samples]
    count_anachronisms(period_samples, matcher, by_prompt_year=True)
    if words:
        metrics["per_1000_words_vs_prompt_year"] = rate(period_samples)[0]
    base: dict[str, dict] = {}
    if run.s.baselines:
        ul = run.baselines.untrained_loaded(loaded)
        base["untrained"] = rates(run.baselines.once(
            ("anachronism",), loaded, lambda: sample(ul, "anachronism (untrained)")))
        if unigram is not None:
            texts = unigram_texts(unigram, loaded.tokenizer, total, b.gen_tokens, run.s.seed,
                                  set(range(bl.real_vocab_size(loaded.model, loaded.tokenizer),
                                            loaded.model.get_input_embeddings().num_embeddings)) | {0, 1})
            base["unigram"] = rates([Sample(Prompt("", "unigram"), t) for t in texts])
        if held:  # real period text: the lexicon's false-alarm rate on the corpus itself
            ref = [Sample(Prompt("", "heldout"), p.text) for p in held["passages"]]
            base["chance"] = rates(ref)
    return {"engine": "london_llm (inference core)", "metrics": metrics, "baselines": base,
            "details": {"hits": hits, "definite_hits": definite_hits, "words": words, "samples": len(samples),
                        "prompts": len(prompts),
                        "words_found": words_found(samples), "cutoff_year": CUTOFF_YEAR,
                        "sampling": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": b.gen_tokens,
                                     "seed": run.s.seed},
                        "baseline_chance_is": "the held-out period text itself (the lexicon's false alarms)",
                        "examples": [{"prompt": s.prompt.text, "text": s.text,
                                      "found": [h.term for h in s.hits]} for s in samples[:6]],
                        "sense_entries_are": "possible anachronisms only: a whole-word match cannot tell a "
                                             "later sense from the older one (per_1000_words_definite "
                                             "leaves them out)"}}
