"""The byte-level BPE recipe, shared by the historical tokenizer and its modern-English comparison.

Lossless by construction: the ByteLevel pre-tokenizer maps every byte of the UTF-8 text to one of
256 symbols (all seeded into the vocabulary), there is no normalizer (NFC/NFKC would rewrite long s,
ligatures and decomposed accents), no prefix space is added, and the ByteLevel decoder maps the
symbols back to the exact bytes. So decode(encode(text)) == text for any Unicode text.
"""
from __future__ import annotations

import json
from typing import Iterable, Optional

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

BYTE_ALPHABET_SIZE = 256


def new_byte_level_bpe() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    # add_prefix_space=False: a prefix space would be added on encode and kept on decode.
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps character offsets covering the whitespace each token really carries.
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def new_trainer(vocab_size: int, min_frequency: int, special_tokens: list[str],
                show_progress: bool) -> trainers.BpeTrainer:
    return trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens,  # first ids, in this order; each a single id
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte, seen in training or not
        show_progress=show_progress,
    )


def train_byte_level_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int,
                         special_tokens: list[str], show_progress: bool = False,
                         length: Optional[int] = None) -> Tokenizer:
    """Train the recipe on streamed texts. Special tokens are never split out of text on encode."""
    tokenizer = new_byte_level_bpe()
    trainer = new_trainer(vocab_size, min_frequency, special_tokens, show_progress)
    tokenizer.train_from_iterator(texts, trainer=trainer, length=length)
    tokenizer.encode_special_tokens = True
    return tokenizer


def truncate_bpe(tokenizer: Tokenizer, size: int) -> Tokenizer:
    """The same tokenizer with only its first `size` ids: exactly what training to `size` would give.

    BPE training is greedy (each merge is the most frequent pair given the merges before it), so a
    smaller vocabulary's merges are a prefix of a larger one's; this compares tokenizers at one size.
    """
    spec = json.loads(tokenizer.to_str())
    model = spec["model"]
    if size >= len(model["vocab"]) + sum(1 for t in spec["added_tokens"] if t["content"] not in model["vocab"]):
        return tokenizer
    fixed = len(model["vocab"]) - len(model["merges"])  # special tokens and the byte alphabet
    if size < fixed:
        raise ValueError(f"cannot truncate below the {fixed} special and byte tokens")
    model["vocab"] = {token: i for token, i in model["vocab"].items() if i < size}
    model["merges"] = model["merges"][: size - fixed]
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["id"] < size]
    truncated = Tokenizer.from_str(json.dumps(spec))
    truncated.encode_special_tokens = True
    return truncated
