"""Stage 03: the lossless byte-level BPE tokenizer with conditioning tags.

`training` trains a tokenizer folder (format 1), `loading` opens and fingerprints one, `errors` holds
TokenizerError; `report` and `checks` are 03_tokenizer/test_tokenizer.py's checks.
"""
