"""london_llm.tokenization.recipe: a truncated BPE is the smaller one."""
from __future__ import annotations

from london_llm.tags import END_OF_TEXT
from london_llm.tokenization.checks import UNSEEN_TEXTS
from london_llm.tokenization.loading import load_backend_tokenizer
from london_llm.tokenization.training import train_tokenizer


def test_truncating_a_bpe_equals_training_it_smaller(mixed_documents, trained, tmp_path):
    from london_llm.tokenization.recipe import truncate_bpe
    smaller = train_tokenizer(mixed_documents, tmp_path / "small", vocab_size=700, show_progress=False,
                              held_out_fraction=0.05)
    cut = truncate_bpe(load_backend_tokenizer(trained), 700)
    reference = load_backend_tokenizer(smaller)
    assert cut.get_vocab_size() == 700 and cut.get_vocab() == reference.get_vocab()
    text = "".join(UNSEEN_TEXTS) + " The Ordinary of Newgate his Account of the Behaviour"
    assert cut.encode(text).ids == reference.encode(text).ids
    assert cut.decode(cut.encode(text).ids) == text
    assert cut.encode(END_OF_TEXT).ids != [0]  # the special-token rule survives
