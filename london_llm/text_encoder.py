"""The tokenizer as pretokenization uses it: tag ids, plain-text encoding on every core, uint16 ids.

Text goes through `load_backend_tokenizer` (special-token splitting off), so a document whose
text contains "<|endoftext|>" or "<|kind:trial|>" literally never yields a control or tag id;
those ids enter only as the head and tail added here.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from london_llm.tags import END_OF_TEXT, document_tags
from london_llm.tokenizer import TokenizerError, load_backend_tokenizer, tokenizer_info

UINT16_VOCAB_LIMIT = 1 << 16  # ids 0..65535 fit a uint16 token file
RETRAIN = "python 03_tokenizer/train_historical_tokenizer.py"


def tokenizer_sha256(tokenizer_dir: Path) -> str:
    """sha256 of tokenizer.json: what a pretokenized folder remembers its tokenizer by."""
    path = Path(tokenizer_dir) / "tokenizer.json"
    if not path.is_file():
        raise TokenizerError(f"no tokenizer at {path}; train it first: {RETRAIN} (or pass the tokenizer folder)")
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TextEncoder:
    """Encodes documents' texts to uint16 arrays and gives the ids that head and end them."""

    def __init__(self, tokenizer, conditioning_tags: Sequence[str], sha256: str):
        self.tokenizer = tokenizer
        self.sha256 = sha256
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        self.conditioning_tags = sorted(conditioning_tags)
        self._tag_ids = {tag: tokenizer.token_to_id(tag) for tag in self.conditioning_tags}
        self._prefixes: dict[tuple[str, Optional[int]], np.ndarray] = {}
        self.eos = np.array([tokenizer.token_to_id(END_OF_TEXT)], dtype=np.uint16)

    def prefix_ids(self, kind: str, year: Optional[int]) -> np.ndarray:
        """The document's tags that this tokenizer knows (london_llm.tags.document_tags), as ids."""
        key = (kind, year)
        if key not in self._prefixes:
            ids = [self._tag_ids[t] for t in document_tags(kind, year) if t in self._tag_ids]
            self._prefixes[key] = np.array(ids, dtype=np.uint16)
        return self._prefixes[key]

    def encode_texts(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One uint16 array per text, in order. Longest first inside the batch, so that the
        library's worker threads do not end up waiting on one long novel taken last."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        encodings = self.tokenizer.encode_batch([texts[i] for i in order], add_special_tokens=False)
        out: list[np.ndarray] = [np.empty(0, np.uint16)] * len(texts)
        for i, encoding in zip(order, encodings):
            out[i] = np.array(encoding.ids, dtype=np.uint16)
        return out

    @contextlib.contextmanager
    def parallel(self, workers: Optional[int]) -> Iterator[None]:
        """encode_batch on every core (the library's own thread pool), or serially for workers=1.

        The library reads TOKENIZERS_PARALLELISM on every call; the previous value is restored.
        RAYON_NUM_THREADS sizes the pool only if the library has not started it in this process.
        """
        previous = {k: os.environ.get(k) for k in ("TOKENIZERS_PARALLELISM", "RAYON_NUM_THREADS")}
        os.environ["TOKENIZERS_PARALLELISM"] = "false" if workers == 1 else "true"
        if workers and workers > 1 and previous["RAYON_NUM_THREADS"] is None:
            os.environ["RAYON_NUM_THREADS"] = str(workers)
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def load_text_encoder(tokenizer_dir: Path) -> TextEncoder:
    """The project's tokenizer folder, checked to fit uint16 token files."""
    tokenizer_dir = Path(tokenizer_dir)
    sha256 = tokenizer_sha256(tokenizer_dir)
    info = tokenizer_info(tokenizer_dir)
    tokenizer = load_backend_tokenizer(tokenizer_dir)
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    if vocab_size > UINT16_VOCAB_LIMIT:
        raise TokenizerError(f"{tokenizer_dir}: a vocabulary of {vocab_size:,} tokens does not fit the uint16 "
                             f"token files (at most {UINT16_VOCAB_LIMIT:,}); train a smaller one: {RETRAIN} --vocab_size N")
    if tokenizer.token_to_id(END_OF_TEXT) is None:
        raise TokenizerError(f"{tokenizer_dir} has no {END_OF_TEXT} token; {RETRAIN}")
    return TextEncoder(tokenizer, info["conditioning_tags"], sha256)
