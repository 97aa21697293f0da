"""Stage 03's public API: train, load and describe the historical tokenizer.

    from london_llm.tokenizer import train_tokenizer, load_tokenizer, tokenizer_info, TokenizerError

Byte-level BPE (lossless for any Unicode text) with `<|endoftext|>`, `<|pad|>` and the conditioning
tags the training documents really carry (london_llm.tags) as single-id special tokens. Special
tokens enter a sequence only by id: text is encoded with special-token splitting off, so text that
merely contains "<|endoftext|>" never yields the special id. For fast batch encoding use
`load_backend_tokenizer(folder)` (a `tokenizers.Tokenizer` with that rule already set).
"""
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, load_tokenizer, tokenizer_info
from london_llm.tokenization.training import (DEFAULT_MODEL_MAX_LENGTH, FORMAT_VERSION, INFO_FILE,
                                              SPECIAL_TOKEN_RULE, train_tokenizer)

__all__ = ["TokenizerError", "train_tokenizer", "load_tokenizer", "load_backend_tokenizer", "tokenizer_info",
           "DEFAULT_MODEL_MAX_LENGTH", "FORMAT_VERSION", "INFO_FILE", "SPECIAL_TOKEN_RULE"]
