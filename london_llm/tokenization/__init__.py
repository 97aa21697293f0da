"""Stage 03: the lossless byte-level BPE tokenizer with conditioning tags (see london_llm.tokenizer)."""
