"""The stage 03 tests' shared tokenizer: trained once per session on real text of four kinds."""
from __future__ import annotations

import pytest

from london_llm.tokenization.training import train_tokenizer
from tokenizer_helpers import VOCAB, build_mixed_documents


@pytest.fixture(scope="session")
def mixed_documents(shared_corpus, tmp_path_factory):
    return build_mixed_documents(shared_corpus, tmp_path_factory.mktemp("tok_docs") / "documents.jsonl")


@pytest.fixture(scope="session")
def trained(mixed_documents, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "london_historical_tokenizer"
    return train_tokenizer(mixed_documents, out, vocab_size=VOCAB, show_progress=False, held_out_fraction=0.05)
