"""Stage 04's first step: the cleaned documents tokenized once into flat uint16 token files.

`format` owns the artifact (constants, dtype, metadata reader, compatibility check, `open_tokens`);
`build` writes it, with `split` (train/val by document) and `text_encoder` (the tokenizer on every
core). Readers import `format` only.
"""
