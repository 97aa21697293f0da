"""The untrained and unigram baselines of a run, each built or computed once and reused: checkpoints
of one run share a model shape, a tokenizer and training data, so their baselines are the same.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from london_llm.evaluation import baselines as bl
from london_llm.evaluation.run_settings import Settings


def _tokenizer_key(loaded) -> str:
    import hashlib

    backend = getattr(loaded.tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else repr(sorted(loaded.tokenizer.get_vocab().items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class BaselineCache:
    """One run's baselines, each computed once (see the module doc)."""

    def __init__(self, s: Settings):
        self.s = s
        self._untrained_cache: dict[tuple, object] = {}
        self._baseline_cache: dict[tuple, object] = {}
        self._unigram_cache: dict[str, object] = {}

    def once(self, what: tuple, loaded, compute, message: Optional[str] = None):
        """The untrained baseline's result, computed once per model shape and tokenizer (checkpoints of
        one run share it)."""
        key = (what, loaded.model.config.to_json_string(), _tokenizer_key(loaded))
        if key not in self._baseline_cache:
            if message:
                self.s.log(message)
            self._baseline_cache[key] = compute()
        return self._baseline_cache[key]

    def untrained(self, loaded):
        key = (tuple(sorted(loaded.model.config.to_dict().items(), key=lambda kv: kv[0]).__repr__()),)
        if key not in self._untrained_cache:
            self._untrained_cache.clear()  # one at a time: a large model twice is too much memory
            self._untrained_cache[key] = bl.untrained_model(loaded.model, self.s.seed)
        return self._untrained_cache[key]

    def unigram(self, data_dir: Optional[Path], vocab: int):
        if data_dir is None:
            return None
        key = f"{data_dir}:{vocab}"
        if key not in self._unigram_cache:
            self._unigram_cache[key] = bl.optional_unigram(Path(data_dir), vocab)
        return self._unigram_cache[key]

    def untrained_loaded(self, loaded):
        """`loaded` with the untrained model in place of its weights (and no checkpoint identity)."""
        from dataclasses import replace

        return replace(loaded, model=self.untrained(loaded), sha256=None, step=None)
