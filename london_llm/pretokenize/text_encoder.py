"""The tokenizer as pretokenization uses it: tag ids, plain-text encoding on every core, uint16 ids.

Text goes through `load_backend_tokenizer` (special-token splitting off), so a document whose
text contains "<|endoftext|>" or "<|kind:trial|>" literally never yields a control or tag id;
those ids enter only as the head and tail added here.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from london_llm.pretokenize import format as token_format
from london_llm.tags import END_OF_TEXT, document_tags
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, tokenizer_info, tokenizer_sha256

PIECE_CHARS = 32_768  # long texts are encoded in pieces about this long (see TextEncoder.pieces)
RETRAIN = "python 03_tokenizer/train_historical_tokenizer.py"


def cuts_are_exact(tokenizer) -> bool:
    """True for the project's recipe (no normalizer; ByteLevel pre-tokenizer with the GPT-2 pattern
    and no prefix space), where TextEncoder.pieces leaves the ids unchanged; other tokenizers are
    encoded one whole text at a time."""
    spec = json.loads(tokenizer.to_str())
    pre = spec.get("pre_tokenizer") or {}
    return (spec.get("normalizer") is None and pre.get("type") == "ByteLevel"
            and pre.get("use_regex", True) and not pre.get("add_prefix_space", False))


class TextEncoder:
    """Encodes documents' texts to uint16 arrays and gives the ids that head and end them."""

    def __init__(self, tokenizer, conditioning_tags: Sequence[str], sha256: str):
        self.tokenizer = tokenizer
        self.sha256 = sha256
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        self.conditioning_tags = sorted(conditioning_tags)
        self._tag_ids = {tag: tokenizer.token_to_id(tag) for tag in self.conditioning_tags}
        self._prefixes: dict[tuple[str, Optional[int]], np.ndarray] = {}
        self.eos = np.array([tokenizer.token_to_id(END_OF_TEXT)], dtype=token_format.TOKEN_DTYPE)
        self.cuttable = cuts_are_exact(tokenizer)

    def prefix_ids(self, kind: str, year: Optional[int]) -> np.ndarray:
        """The document's tags that this tokenizer knows (london_llm.tags.document_tags), as ids."""
        key = (kind, year)
        if key not in self._prefixes:
            ids = [self._tag_ids[t] for t in document_tags(kind, year) if t in self._tag_ids]
            self._prefixes[key] = np.array(ids, dtype=token_format.TOKEN_DTYPE)
        return self._prefixes[key]

    def encode_texts(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One uint16 array per text, in order. Long texts are encoded as pieces cut where the
        tokenizer would split anyway (see `pieces`), so the library's threads share the work
        evenly instead of one of them finishing a whole novel alone."""
        owners, pieces = [], []
        for i, text in enumerate(texts):
            for piece in (self.pieces(text) if self.cuttable else [text]):
                owners.append(i)
                pieces.append(piece)
        encodings = self.tokenizer.encode_batch(pieces, add_special_tokens=False)
        parts: list[list[np.ndarray]] = [[] for _ in texts]
        for i, encoding in zip(owners, encodings):
            parts[i].append(np.array(encoding.ids, dtype=token_format.TOKEN_DTYPE))
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in parts]

    @staticmethod
    def pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
        """`text` cut into pieces of about `size` characters, each cut just before a line break
        ("\n" or "\r\n") that follows a non-space character. The GPT-2 byte-level pattern always
        ends a pre-token where whitespace follows non-space, and starts the next one afresh (it has
        no look-behind), so encoding the pieces one by one gives exactly the ids of the whole.
        (str.isspace is true for all of Unicode's White_Space, so no unsafe cut slips through.)"""
        out, start = [], 0
        while len(text) - start > size:
            newline = text.find("\n", start + size)
            while newline != -1:
                cut = newline - 1 if text[newline - 1] == "\r" else newline
                if not text[cut - 1].isspace():
                    break
                newline = text.find("\n", newline + 1)
            if newline == -1:
                break
            out.append(text[start:cut])
            start = cut
        out.append(text[start:])
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
    if vocab_size > token_format.UINT16_VOCAB_LIMIT:  # read at call time: tests lower it
        raise TokenizerError(f"{tokenizer_dir}: a vocabulary of {vocab_size:,} tokens does not fit the uint16 "
                             f"token files (at most {token_format.UINT16_VOCAB_LIMIT:,}); train a smaller one: {RETRAIN} --vocab_size N")
    if tokenizer.token_to_id(END_OF_TEXT) is None:
        raise TokenizerError(f"{tokenizer_dir} has no {END_OF_TEXT} token; {RETRAIN}")
    return TextEncoder(tokenizer, info["conditioning_tags"], sha256)
