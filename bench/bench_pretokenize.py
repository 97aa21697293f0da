"""Benchmark pretokenization: throughput against the tokenizers library's own encode_batch on the
same text in the same run, and the time to open pretokenized data made large by repetition.

    python bench/bench_pretokenize.py                       # documents + tokenizer from config.paths(),
                                                            # else built from ../shared/corpus
    python bench/bench_pretokenize.py --open_gb 4 --repeats 3

Prints figures; nothing is asserted. Note the machine load (printed) and rerun when others are busy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import config  # noqa: E402
from _machine import cpu_description, load_line  # noqa: E402

import numpy as np  # noqa: E402

from london_llm.pretokenize.format import TOKEN_DTYPE, check_compatible, open_tokens  # noqa: E402
from london_llm.training.batches import EpochBatches, validation_batches  # noqa: E402
from london_llm.pretokenize.build import CHUNK_CHARS, build_pretokenized  # noqa: E402
from london_llm.pretokenize.text_encoder import load_text_encoder  # noqa: E402
from london_llm.tokenization.documents import iter_documents  # noqa: E402
from london_llm.tokenization.training import train_tokenizer  # noqa: E402

GUTENBERG_BODY = re.compile(r"\*\*\* ?START OF.*?\*\*\*(.*?)\*\*\* ?END OF", re.S | re.I)


def documents_from_corpus(corpus: Path, out: Path, max_chars: int) -> Path:
    """A documents.jsonl of real text from the shared corpus, taking Gutenberg books and Ordinary's
    Accounts in turn, so the mix of long and short documents is like the real corpus'."""
    books = sorted((corpus / "gutenberg-london-books-rcdm-uga" / "texts").glob("*.txt"))
    books += sorted((corpus / "gutenberg-18c-novels-dighums" / "texts").glob("*.txt"))
    accounts = sorted((corpus / "old-bailey-ordinarys-accounts-txt" / "oa_txt").glob("OA*.txt"))
    if not books and not accounts:
        raise SystemExit(f"no corpus text under {corpus}; pass --documents and --tokenizer_dir")
    per_book = max(1, len(accounts) // max(1, len(books)))
    order = []
    for i in range(max(len(books), 1)):
        order += [("ordinary", p) for p in accounts[i * per_book:(i + 1) * per_book]]
        order += [("book", p) for p in books[i:i + 1]]
    order += [("ordinary", p) for p in accounts[len(books) * per_book:]]
    total = 0
    with open(out, "w", encoding="utf-8") as fh:
        for kind, path in order:
            raw = path.read_text(encoding="utf-8", errors="replace")
            found = GUTENBERG_BODY.search(raw)
            body = (found.group(1) if found else raw).strip()
            year = int(path.stem[2:6]) if kind == "ordinary" else None
            record = {"id": hashlib.sha256(path.name.encode()).hexdigest()[:16], "source": "bench",
                      "source_id": "bench", "kind": kind, "title": path.stem, "year": year, "text": body}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            total += len(body)
            if total >= max_chars:
                break
    return out


def library_encode_batch(tokenizer_dir: Path, batches: list[list[str]], parallel: bool = True) -> float:
    """Seconds for the library's encode_batch over the given batches of texts, on every core (or one)."""
    tokenizer = load_text_encoder(tokenizer_dir).tokenizer
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if parallel else "false"
    try:
        started = time.perf_counter()
        for batch in batches:
            tokenizer.encode_batch(batch, add_special_tokens=False)
        return time.perf_counter() - started
    finally:
        if previous is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous


def in_chunks(texts: list[str], chunk_chars: int) -> list[list[str]]:
    """The texts grouped as the build groups them (about chunk_chars characters per encode_batch)."""
    chunks, current, size = [], [], 0
    for text in texts:
        current.append(text)
        size += len(text)
        if size >= chunk_chars:
            chunks.append(current)
            current, size = [], 0
    return chunks + ([current] if current else [])


def bench_throughput(documents: Path, tokenizer_dir: Path, work: Path, repeats: int, workers,
                     serial: bool) -> Path:
    texts = [record["text"] for _, _, record in iter_documents(documents) if record["text"]]
    chars = sum(map(len, texts))
    chunks = in_chunks(texts, CHUNK_CHARS)
    print(f"text: {len(texts):,} documents, {chars / 1e6:.1f} M characters from {documents}")
    library, chunked, ours = [], [], []
    for _ in range(repeats):  # interleaved, best of each: the least disturbed by other load
        library.append(library_encode_batch(tokenizer_dir, [texts]))
        chunked.append(library_encode_batch(tokenizer_dir, chunks))
        started = time.perf_counter()
        meta = build_pretokenized(documents, tokenizer_dir, work / "pretokenized_data", max_length=512,
                                  val_fraction=0.01, seed=1337, workers=workers)
        ours.append(time.perf_counter() - started)
    lib_rate, chunk_rate, our_rate = chars / min(library), chars / min(chunked), chars / min(ours)
    tokens = meta["splits"]["train"]["tokens"] + meta["splits"]["val"]["tokens"]
    runs = lambda times: ", ".join(f"{t:.2f}s" for t in times)  # noqa: E731
    print(f"library encode_batch, all texts in one call (all cores): {lib_rate / 1e6:.2f} M chars/s ({runs(library)})")
    print(f"library encode_batch, in the build's {len(chunks)} chunks of ~{CHUNK_CHARS / 1e6:.0f} M chars: "
          f"{chunk_rate / 1e6:.2f} M chars/s ({runs(chunked)})")
    print(f"pretokenization (read JSONL, hash, encode, split, write): {our_rate / 1e6:.2f} M chars/s, "
          f"{tokens / min(ours) / 1e6:.2f} M tokens/s ({runs(ours)})")
    print(f"pretokenization / library = {our_rate / lib_rate:.1%} (target >= 90%); "
          f"/ library on the same chunks = {our_rate / chunk_rate:.1%}")
    if serial:
        one_core = chars / library_encode_batch(tokenizer_dir, chunks, parallel=False)
        print(f"library encode_batch on one core (same chunks): {one_core / 1e6:.2f} M chars/s; all cores give "
              f"{chunk_rate / one_core:.2f}x on {os.cpu_count()} CPUs")
    return work / "pretokenized_data"


def grow(source: Path, target: Path, gigabytes: float) -> Path:
    """A pretokenized folder whose train.bin repeats the source's until it holds `gigabytes`."""
    target.mkdir(parents=True, exist_ok=True)
    block = np.fromfile(source / "train.bin", dtype=TOKEN_DTYPE)
    copies = max(1, round(gigabytes * 1e9 / block.nbytes))
    piece = max(1, min(copies, int(256e6 // block.nbytes)))  # write ~256 MB at a time
    tiled = np.tile(block, piece)
    with open(target / "train.bin", "wb") as fh:
        for done in range(0, copies, piece):
            (tiled if done + piece <= copies else np.tile(block, copies - done)).tofile(fh)
    shutil.copy(source / "val.bin", target / "val.bin")
    meta = json.loads((source / "metadata.json").read_text())
    meta["splits"]["train"]["tokens"] = copies * len(block)
    (target / "metadata.json").write_text(json.dumps(meta))
    return target


def bench_open(pretokenized: Path, tokenizer_dir: Path, work: Path, gigabytes: float, block: int, batch: int) -> None:
    big = grow(pretokenized, work / "big", gigabytes)
    os.sync()
    size = (big / "train.bin").stat().st_size
    started = time.perf_counter()
    check_compatible(big, tokenizer_dir, 512)
    checked = time.perf_counter()
    tokens = open_tokens(big, "train")
    opened = time.perf_counter()
    batches = EpochBatches(tokens, block, batch, seed=1337)
    sampler = time.perf_counter()
    batches.next_batch()
    first = time.perf_counter()
    validation_batches(open_tokens(big, "val"), block, batch, 50)
    val = time.perf_counter()
    print(f"open {size / 1e9:.2f} GB ({len(tokens) / 1e9:.2f} G tokens, {batches.windows_per_epoch:,} windows "
          f"of {block + 1}): check_compatible {1e3 * (checked - started):.1f} ms, open_tokens "
          f"{1e3 * (opened - checked):.2f} ms, EpochBatches {1e3 * (sampler - opened):.1f} ms, first batch "
          f"{1e3 * (first - sampler):.2f} ms; total to first batch {first - started:.3f} s (target < 1 s); "
          f"50 validation batches {1e3 * (val - first):.1f} ms")


def main(argv=None) -> int:
    paths = config.paths()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--documents", type=Path, default=paths.documents_file,
                        help="documents.jsonl to tokenize (built from --corpus when absent)")
    parser.add_argument("--tokenizer_dir", type=Path, default=paths.tokenizer_dir,
                        help="tokenizer folder (trained on the documents when absent)")
    parser.add_argument("--corpus", type=Path, default=config.ROOT.parent / "shared" / "corpus",
                        help="real corpus to build documents from when --documents does not exist")
    parser.add_argument("--max_chars", type=int, default=20_000_000,
                        help="characters of corpus text to build documents from")
    parser.add_argument("--vocab_size", type=int, default=30_000, help="vocabulary of a tokenizer trained here")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side; the best is reported")
    parser.add_argument("--workers", type=int, default=None, help="pretokenization workers (default: all cores)")
    parser.add_argument("--no_serial", action="store_true",
                        help="skip timing the library on one core (how much its own threads gain)")
    parser.add_argument("--open_gb", type=float, default=2.0, help="size of the token file for the open test")
    parser.add_argument("--block_size", type=int, default=512, help="window length for the open test")
    parser.add_argument("--batch_size", type=int, default=18, help="batch size for the open test")
    parser.add_argument("--work_dir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)

    print(cpu_description())
    print(load_line("before"), flush=True)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench_pretokenize."))
    work.mkdir(parents=True, exist_ok=True)
    try:
        documents = args.documents
        if not documents.is_file():
            documents = documents_from_corpus(args.corpus, work / "documents.jsonl", args.max_chars)
        tokenizer_dir = args.tokenizer_dir
        if not (tokenizer_dir / "tokenizer.json").is_file():
            started = time.perf_counter()
            tokenizer_dir = train_tokenizer(documents, work / "tokenizer", vocab_size=args.vocab_size,
                                            show_progress=False)
            print(f"trained a {args.vocab_size:,} tokenizer for the benchmark in {time.perf_counter() - started:.1f} s")
        pretokenized = bench_throughput(documents, tokenizer_dir, work, args.repeats, args.workers,
                                        not args.no_serial)
        bench_open(pretokenized, tokenizer_dir, work, args.open_gb, args.block_size, args.batch_size)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(load_line("after"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
