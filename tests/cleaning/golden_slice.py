"""The cleaner's output on a fixed slice of ../shared/corpus, reduced to a comparable fingerprint.

The golden file (tests/cleaning/golden/slice.json) was written by the cleaning code as it stood
before the stage-02 speed work (commit 2c3f5db) and reviewed by hand; test_golden_output.py checks
that a build of the same slice still gives byte-identical documents.jsonl, corpus and statistics.
Regenerated once since, for documents format 3 (the `series` field): every line with `series`
dropped was checked to be the old golden line, and the corpus and statistics were unchanged.
Regenerate only for a deliberate change of the cleaning rules, and review the diff:
    PYTHONPATH=. python -m tests.cleaning.golden_slice --write
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("golden") / "slice.json"
# Every format, books with editorial apparatus and footnotes, trials before and after 1834, the
# same texts more than once (ASCII/Latin-1 twins, an account as XML and as text, an API record
# that is also in its session). test_build.py builds these through the CLI.
BUILD_SLICE = [
    "gutenberg-gitenberg-format-variants/pg16215/16215.txt",  # Jack Sheppard, ASCII
    "gutenberg-gitenberg-format-variants/pg16215/16215-8.txt",  # ... and ISO-8859-1
    "gutenberg-gitenberg-format-variants/pg25063/25063.txt",
    "gutenberg-gitenberg-format-variants/pg25063/25063-8.txt",
    "gutenberg-london-books-rcdm-uga/texts/Shakespeare__Henry_V.txt",  # 1990s small print
    "gutenberg-london-books-rcdm-uga/texts/Doyle_The_Cabman_s_StoryThe_Mysteries_of_a_London_Growler.txt",
    "old-bailey-obo-xml-7.2/sessionsPapers/17280117.xml",
    "old-bailey-obo-xml-7.2/sessionsPapers/17000115.xml",
    "old-bailey-obo-xml-7.2/ordinarysAccounts/OA17500207.xml",  # also as text below
    "old-bailey-ordinarys-accounts-txt/oa_txt/OA17500207.txt",
    "old-bailey-ordinarys-accounts-txt/oa_txt/OA17480622.txt",
    "old-bailey-api-json-samples/t17000115-17.json",  # also in the 17000115 session
    "old-bailey-api-json-samples/housebreaking.json",
    "london-lives-westminster-coroners-inquests/coroners_inquests/wa_coroners_inquests_v1-1.tsv",
    "london-lives-westminster-coroners-inquests/coroners_inquests/wa_inq_txt/WACWIC652000005_652000004.txt",
    "london-lives-pauper-examinations-removals/removal_orders/cdrv_removal_orders_v2_orders.tsv",
    "standardebooks-pepys-diary/src/epub/text/chapter-10.xhtml",
    "standardebooks-pepys-diary/src/epub/text/imprint.xhtml",
    "eebo-tcp-london-samples/A81426.xml",
    "ia-djvu-ocr-samples/philtrans01419782_01419782_djvu.txt",
]
# The golden slice: those, with a Gutenberg RDF record, a long novel and trials of 1830 and 1913.
SLICE = BUILD_SLICE + [
    "gutenberg-gitenberg-format-variants/pg16215/pg16215.rdf",
    "gutenberg-18c-novels-dighums/texts/TobiasSmollett__HumphryClinker.txt",
    "old-bailey-obo-xml-7.2/sessionsPapers/18300114.xml",
    "old-bailey-obo-xml-7.2/sessionsPapers/19130107.xml",
]
VOLATILE = ("created", "seconds", "phase_seconds", "workers", "corpus_file")


def copy_slice(shared_corpus: Path, root: Path) -> Path:
    for rel in SLICE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_corpus / rel, root / rel)
    return root


def _drop_volatile(value):
    if isinstance(value, dict):
        return {k: _drop_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


def fingerprint(work: Path) -> dict:
    """documents.jsonl line by line (id, title, chars, sha256 of the line), the corpus file's digest,
    statistics.json and documents.meta.json without times; the work folder's path is replaced by
    <WORK> (imported files' origins name it)."""
    def local(text: str) -> str:
        return text.replace(str(work), "<WORK>")

    documents = []
    for line in (work / "processed" / "documents.jsonl").read_text(encoding="utf-8").splitlines():
        line = local(line)
        doc = json.loads(line)
        documents.append([doc["id"], doc["title"], doc["chars"], hashlib.sha256(line.encode()).hexdigest()])
    corpus = (work / "corpus.txt").read_bytes()
    meta = json.loads(local((work / "processed" / "documents.meta.json").read_text(encoding="utf-8")))
    for k in ("sha256", "bytes"):  # of the JSONL before <WORK> replaced its path: covered line by line
        meta.pop(k)
    stats = json.loads(local((work / "metadata" / "statistics.json").read_text(encoding="utf-8")))
    return {"documents": documents, "corpus": {"bytes": len(corpus), "sha256": hashlib.sha256(corpus).hexdigest()},
            "documents_meta": _drop_volatile(meta), "statistics": _drop_volatile(stats)}


def build_slice(shared_corpus: Path, work: Path, workers: int = 1) -> dict:
    from london_llm.cleaning.build import build_corpus
    from london_llm.cleaning.importer import import_from_dir

    source = copy_slice(shared_corpus, work / "source")
    import_from_dir(source, work / "downloads")
    build_corpus(work / "downloads", work / "processed", work / "corpus.txt", work / "metadata",
                 workers=workers, progress=False)
    return fingerprint(work)


def main() -> int:
    import os
    import tempfile
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help=f"write {GOLDEN} (else print the differences' count)")
    args = p.parse_args()
    shared = Path(os.environ.get("LONDON_LLM_SHARED_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))
    with tempfile.TemporaryDirectory() as tmp:
        got = build_slice(shared, Path(tmp))
    if args.write:
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {GOLDEN}: {len(got['documents'])} documents")
        return 0
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    print("identical" if got == want else "DIFFERENT")
    return 0 if got == want else 1


if __name__ == "__main__":
    sys.exit(main())
