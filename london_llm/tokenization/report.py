"""The checks of 03_tokenizer/test_tokenizer.py: round trips, special tokens, compression vs modern English."""
from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from typing import Optional

from london_llm.hashing import sha256_file
from london_llm.tags import CONTROL_TOKENS, END_OF_TEXT
from london_llm.tokenization import checks
from london_llm.tokenization.documents import held_out_texts, iter_documents
from london_llm.tokenization.loading import load_backend_tokenizer, load_tokenizer, tokenizer_info
from london_llm.tokenization.modern_english import SOURCE_DESCRIPTION, modern_english_texts, split_held_out
from london_llm.tokenization.recipe import train_byte_level_bpe, truncate_bpe

log = logging.getLogger(__name__)


def _kind_texts(documents_file: Path, info: dict, max_chars_per_kind: int) -> tuple[dict[str, list[str]], dict]:
    """Held-out text per kind; a kind with one document (nothing held out) falls back to its training text."""
    held = held_out_texts(documents_file, set(info["training_data"]["held_out_ids"]), max_chars_per_kind)
    origin = {kind: "held out" for kind in held}
    missing = set(info["training_data"]["documents_by_kind"]) - set(held)
    if missing:
        for line_no, _, record in iter_documents(documents_file):
            kind = record["kind"]
            if kind in missing and kind not in held and record["text"]:
                held[kind] = [record["text"][:max_chars_per_kind]]
                origin[kind] = "training text (only one document of this kind)"
    return held, origin


def _tagged_round_trip(tokenizer, tags: list[str]) -> list[str]:
    """Tags put in by id, then text, then <|endoftext|>: decoding gives exactly the tag strings and text."""
    problems = []
    text = "The Prisoner was indicted for stealing a ſilver watch.\n"
    for tag in tags:
        ids = [tokenizer.convert_tokens_to_ids(tag)] + tokenizer.encode(text) + [tokenizer.eos_token_id]
        got = tokenizer.decode(ids)
        if got != tag + text + END_OF_TEXT:
            problems.append(f"tag {tag}: decode gave {got[:80]!r}")
    return problems


def compare_with_modern(backend, info: dict, historical: list[str]) -> dict:
    """Train a same-size byte-level BPE on modern English; compression of both on both kinds of text."""
    # the slow part of the check (~20 s on a small CPU): say so while it runs, not only when it is done
    log.info("comparison: training a %d-token byte-level BPE on modern English (the Python standard library's "
             "docs; --no_comparison skips it)", info["vocab_size"])
    texts = modern_english_texts()
    train, held = split_held_out(texts)
    started = time.perf_counter()
    modern = train_byte_level_bpe(iter(train), info["vocab_size"], info.get("min_frequency", 2),
                                  list(CONTROL_TOKENS))
    seconds = time.perf_counter() - started

    def measure(tok, sample):
        return checks.compression(lambda batch: [e.ids for e in tok.encode_batch(batch)], sample).as_dict()

    report = {
        "modern_source": SOURCE_DESCRIPTION.format(version=platform.python_version()),
        "modern_training_chars": sum(len(t) for t in train),
        "modern_vocab_size": modern.get_vocab_size(),
        "modern_training_seconds": round(seconds, 2),
        "historical_tokenizer_on_historical": measure(backend, historical),
        "modern_tokenizer_on_historical": measure(modern, historical),
        "historical_tokenizer_on_modern": measure(backend, held),
        "modern_tokenizer_on_modern": measure(modern, held),
    }
    if modern.get_vocab_size() < backend.get_vocab_size():
        # Too little modern text for min_frequency to reach our size: compare at its size as well,
        # with our tokenizer cut to the same number of ids (what training to that size gives).
        same = truncate_bpe(backend, modern.get_vocab_size())
        report["historical_tokenizer_at_modern_size_on_historical"] = measure(same, historical)
        report["historical_tokenizer_at_modern_size_on_modern"] = measure(same, held)
    return report


def check_tokenizer(folder: Path, documents_file: Optional[Path], max_chars_per_kind: int = 200_000,
                    compare: bool = True) -> dict:
    """Run every check; the report's "failures" list is empty when the tokenizer is sound.

    Raises TokenizerError when the folder or documents cannot be read at all.
    """
    info = tokenizer_info(folder)
    tokenizer = load_tokenizer(folder)
    backend = load_backend_tokenizer(folder)
    documents_file = Path(documents_file or info["training_data"]["documents_file"])
    same_file = (documents_file.is_file()
                 and sha256_file(documents_file) == info["training_data"]["sha256"])
    if not same_file:
        log.warning("%s is not the documents file this tokenizer was trained on (sha256 differs); held-out "
                    "documents are looked up by id", documents_file)
    report: dict = {"tokenizer_dir": str(folder), "documents_file": str(documents_file),
                    "documents_match_training": same_file,
                    "vocab_size": info["vocab_size"], "conditioning_tags": info["conditioning_tags"],
                    "failures": []}
    failures = report["failures"]

    def hf_encode(text: str) -> list[int]:  # whole documents: longer than model_max_length on purpose
        return tokenizer.encode(text, verbose=False)

    ids = {"bos": tokenizer.bos_token_id, "eos": tokenizer.eos_token_id, "pad": tokenizer.pad_token_id}
    report["autotokenizer_ids"] = ids
    if None in ids.values() or ids["pad"] == ids["eos"]:
        failures.append(f"AutoTokenizer ids not set properly: {ids}")

    by_kind, origin = _kind_texts(documents_file, info, max_chars_per_kind)
    report["round_trip"] = {}
    for kind in sorted(info["training_data"]["documents_by_kind"]):
        texts = by_kind.get(kind, [])
        labelled = [(f"{kind} #{i}", t) for i, t in enumerate(texts)]
        bad = (checks.round_trip_failures(hf_encode, tokenizer.decode, labelled)
               + checks.round_trip_failures(lambda t: backend.encode(t).ids, backend.decode, labelled))
        report["round_trip"][kind] = {"texts": len(texts), "chars": sum(map(len, texts)),
                                      "source": origin.get(kind, "none found"), "exact": not bad and bool(texts)}
        if not texts:
            failures.append(f"no text of kind {kind!r} found in {documents_file}")
        failures.extend(str(f) for f in bad)

    special = list(info["special_token_ids"])
    unseen = [(f"unseen #{i}", t) for i, t in enumerate(checks.UNSEEN_TEXTS)]
    unseen += [(f"special string {t}", f"a {t} in text{t}") for t in special]
    bad = (checks.round_trip_failures(hf_encode, tokenizer.decode, unseen)
           + checks.round_trip_failures(lambda t: backend.encode(t).ids, backend.decode, unseen))
    report["unseen_round_trip"] = {"texts": len(unseen), "exact": not bad}
    failures.extend(str(f) for f in bad)

    problems = (checks.special_token_problems(hf_encode, tokenizer.convert_tokens_to_ids, special)
                + checks.special_token_problems(lambda t: backend.encode(t).ids, backend.token_to_id, special)
                + _tagged_round_trip(tokenizer, info["conditioning_tags"]))
    report["special_tokens"] = {"count": len(special), "ok": not problems}
    failures.extend(problems)

    historical = [t for kind in sorted(by_kind) if origin[kind] == "held out" for t in by_kind[kind]]
    report["compression_by_kind"] = {
        kind: checks.compression(lambda b: [e.ids for e in backend.encode_batch(b)], texts).as_dict()
        for kind, texts in sorted(by_kind.items()) if origin[kind] == "held out"}
    if compare and historical:
        report["comparison"] = compare_with_modern(backend, info, historical)
    return report
