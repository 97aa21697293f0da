"""Conditioning scores: the batched, right-padded passes equal scoring each sequence alone."""
from __future__ import annotations

import math

import pytest
import torch


def tiny_model_and_tokenizer():
    import tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tags = ["<|kind:book|>", "<|kind:trial|>", "<|period:1700-1724|>", "<|period:1875-1899|>"]
    words = ["<|endoftext|>", "<|pad|>", *tags] + [f"w{i}" for i in range(40)]
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<|pad|>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    backend.decoder = tokenizers.decoders.WordPiece(prefix="##")
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  pad_token="<|pad|>")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(words), n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    return model, tok, tags


def alone(model, ids, n_prefix):
    x = torch.tensor([ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=x).logits[0].float(), dim=-1)
    return -sum(logp[t - 1, ids[t]].item() for t in range(n_prefix, len(ids))) / math.log(2)


@pytest.mark.parametrize("batch_tokens", [2048, 40])  # all together, and a few sequences per pass
def test_batched_scores_equal_one_sequence_at_a_time(monkeypatch, batch_tokens):
    from london_llm.evaluation import conditioning
    from london_llm.evaluation.heldout import Passage

    monkeypatch.setattr(conditioning, "BATCH_TOKENS", batch_tokens)
    model, tok, tags = tiny_model_and_tokenizer()
    passages = [Passage("a", "book", 1710, " ".join(f"w{i % 40}" for i in range(n)), 0) for n in (5, 17, 60)]
    passages.append(Passage("b", "trial", 1880, "w1 w2 w3 w4", 0))
    passages.append(Passage("c", "sermon", 1880, "w1 w2 w3 w4", 0))  # an unknown kind: not scored
    scored = conditioning.score_passages(model, tok, passages, tags)
    assert [s.kind for s in scored] == ["book", "book", "book", "trial"]
    bos = tok.bos_token_id
    for p, s in zip(passages, scored):
        sets = conditioning.tag_sets(p.kind, p.year, tags)
        ids = tok(p.text, add_special_tokens=False).input_ids[:32 - 1 - max(len(v) for v in sets.values())]
        for name, tag_list in sets.items():
            prefix = [bos] + tok.convert_tokens_to_ids(tag_list)
            assert s.bits[name] == pytest.approx(alone(model, prefix + ids, len(prefix)), rel=1e-5, abs=1e-4)
