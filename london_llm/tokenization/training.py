"""Train the historical tokenizer on documents.jsonl and write its folder (format 1) atomically."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import tokenizers
from tqdm.auto import tqdm

from london_llm import atomic
from london_llm.tags import CONTROL_TOKENS, END_OF_TEXT, PAD
from london_llm.tokenization.documents import DocumentScan, iter_texts, scan_documents
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.format import (DEFAULT_MODEL_MAX_LENGTH, FORMAT_VERSION, INFO_FILE, SPECIAL_TOKEN_RULE,
                                          TAG_RULE, tokenizer_sha256)
from london_llm.tokenization.recipe import BYTE_ALPHABET_SIZE, train_byte_level_bpe

log = logging.getLogger(__name__)


def _scan(documents_file: Path, held_out_fraction: float, show_progress: bool) -> DocumentScan:
    size = documents_file.stat().st_size if documents_file.is_file() else 0
    with tqdm(total=size, unit="B", unit_scale=True, desc="scan documents", disable=not show_progress) as bar:
        return scan_documents(documents_file, held_out_fraction, on_bytes=bar.update)


def _write_folder(tokenizer: tokenizers.Tokenizer, folder: Path, scan: DocumentScan, *, vocab_size: int,
                  min_frequency: int, held_out_fraction: float, model_max_length: int, seconds: float) -> None:
    import transformers  # seconds to import: only once there is a tokenizer to save
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT, eos_token=END_OF_TEXT, unk_token=END_OF_TEXT, pad_token=PAD,
        additional_special_tokens=list(scan.tags),
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,  # True would turn "word ." into "word." on decode
        split_special_tokens=True,  # see SPECIAL_TOKEN_RULE
    )
    hf.save_pretrained(str(folder))
    tokenizer.model.save(str(folder))  # vocab.json + merges.txt, the GPT-2 style files

    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # the name every transformers version knows
    atomic.write_json(config_file, config)
    atomic.write_json(folder / "special_tokens_map.json", {
        "bos_token": END_OF_TEXT, "eos_token": END_OF_TEXT, "unk_token": END_OF_TEXT, "pad_token": PAD,
        "additional_special_tokens": list(scan.tags)})

    saved = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    specials = list(CONTROL_TOKENS) + list(scan.tags)
    atomic.write_json(folder / INFO_FILE, {
        "format_version": FORMAT_VERSION,
        "model": "byte-level BPE",
        "vocab_size": saved.get_vocab_size(with_added_tokens=True),
        "requested_vocab_size": vocab_size,
        "min_frequency": min_frequency,
        "model_max_length": model_max_length,
        "control_tokens": {"end_of_text": END_OF_TEXT, "pad": PAD},
        "conditioning_tags": list(scan.tags),
        "special_token_ids": {t: saved.token_to_id(t) for t in specials},
        "special_token_rule": SPECIAL_TOKEN_RULE,
        "tag_rule": TAG_RULE,
        "tokenizer_sha256": tokenizer_sha256(folder),
        "training_data": {
            "documents_file": str(scan.path.resolve()),
            "sha256": scan.sha256,
            "bytes": scan.bytes,
            "documents": scan.documents,
            "chars": scan.chars,
            "documents_by_kind": dict(sorted(scan.by_kind.items())),
            "training_documents": scan.training_documents,
            "held_out_fraction": held_out_fraction,
            "held_out_documents": len(scan.held_out_ids),
            "held_out_ids": scan.held_out_ids,
        },
        "training_seconds": round(seconds, 2),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "libraries": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
    })
    # Temporary files are created owner-only; a model folder is meant to be read by others.
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def train_tokenizer(documents_file: Path, out_dir: Path, *, vocab_size: int = 30_000, min_frequency: int = 2,
                    show_progress: bool = True, held_out_fraction: float = 0.005,
                    model_max_length: int = DEFAULT_MODEL_MAX_LENGTH) -> Path:
    """Train a byte-level BPE on the documents' texts, streamed; write the folder; return its path.

    The documents whose ids `held_out_fraction` selects (at least one per kind that has two) are
    left out of training and listed in london_tokenizer.json, so checks can use unseen text.
    The folder appears only when complete; an existing one is replaced.
    """
    documents_file, out_dir = Path(documents_file), Path(out_dir)
    if min_frequency < 1:
        raise TokenizerError(f"min_frequency must be at least 1, not {min_frequency}")
    if model_max_length < 1:
        raise TokenizerError(f"model_max_length must be positive, not {model_max_length}")
    scan = _scan(documents_file, held_out_fraction, show_progress)
    specials = list(CONTROL_TOKENS) + scan.tags
    smallest = BYTE_ALPHABET_SIZE + len(specials) + 1
    if vocab_size < smallest:
        raise TokenizerError(f"vocab_size {vocab_size} is too small: 256 byte symbols and {len(specials)} "
                             f"special tokens need at least {smallest}")
    log.info("documents %s: %d documents (%d held out), %d chars, kinds %s; %d conditioning tags",
             documents_file, scan.documents, len(scan.held_out_ids), scan.chars, scan.by_kind, len(scan.tags))

    skip = frozenset(scan.held_out_ids)
    started = time.perf_counter()
    bar = tqdm(total=scan.bytes, unit="B", unit_scale=True, desc="count words", disable=not show_progress)

    def texts():
        # Counting words while reading is ~85% of the time: this bar (with ETA) covers it. The
        # library's own bars are off: they would draw over it on the same terminal line.
        yield from iter_texts(documents_file, skip, on_bytes=bar.update)
        bar.close()
        log.info("documents read in %.1f s; finishing the word counts and computing merges",
                 time.perf_counter() - started)

    try:
        tokenizer = train_byte_level_bpe(texts(), vocab_size, min_frequency, specials)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    for token in specials:  # the trainer puts them first; a failure here is a library change
        if tokenizer.token_to_id(token) is None:
            raise TokenizerError(f"special token {token} did not get an id (tokenizers {tokenizers.__version__})")
    log.info("trained %d tokens in %.1f s", tokenizer.get_vocab_size(), seconds)

    with atomic.atomic_dir(out_dir) as tmp:
        _write_folder(tokenizer, tmp, scan, vocab_size=vocab_size, min_frequency=min_frequency,
                      held_out_fraction=held_out_fraction, model_max_length=model_max_length, seconds=seconds)
    log.info("wrote %s", out_dir)
    return out_dir
