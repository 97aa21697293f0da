"""Shared test set-up: hermetic environment, the real corpus beside the repo, small real inputs."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = Path(os.environ.get("LONDON_LLM_SHARED_CORPUS", REPO.parent / "shared" / "corpus"))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _reads_corpus(func) -> bool:
    code = getattr(func, "__code__", None)
    return code is not None and "require_shared_corpus" in code.co_names


def pytest_collection_modifyitems(config, items):
    """Mark `corpus` every test that reads ../shared/corpus, itself or through any fixture it uses,
    so `-m "not corpus"` runs where the corpus is absent (the markers are in pyproject.toml)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        fixture_funcs = [d.func for defs in (info.name2fixturedefs.values() if info else ()) for d in defs]
        if _reads_corpus(getattr(item, "function", None)) or any(_reads_corpus(f) for f in fixture_funcs):
            item.add_marker(pytest.mark.corpus)


@pytest.fixture(autouse=True, scope="session")
def _hermetic(tmp_path_factory):
    """Offline, no W&B, a private HF cache, and no artifacts written into the repository."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["WANDB_MODE"] = "disabled"
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf_home"))
    os.environ["LONDON_LLM_HOME"] = str(tmp_path_factory.mktemp("london_home"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh artifact root for one test (LONDON_LLM_HOME points at it)."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("LONDON_LLM_HOME", str(root))
    return root


def require_shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"real corpus not found at {SHARED_CORPUS} (../shared/corpus beside the repository)")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    return require_shared_corpus()


_GUTENBERG_BODY = re.compile(r"\*\*\* ?START OF.*?\*\*\*(.*?)\*\*\* ?END OF", re.S | re.I)
_NOVEL_YEARS = {"FrancesBurney__Evelina": 1778, "HenryFielding__TomJones": 1749,
                "SamuelRichardson__Pamela": 1740, "TobiasSmollett__HumphryClinker": 1771,
                "TobiasSmollett__FerdinandFathom": 1753}


def _record(source, kind, title, year, text, origin):
    text = text.strip()
    return {"id": hashlib.sha256(origin.encode()).hexdigest()[:16], "source": source,
            "source_id": source, "kind": kind, "title": title, "author": None,
            "date": str(year) if year else None, "year": year,
            "decade": (year // 10 * 10) if year else None, "licence": "public domain",
            "origin": origin, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "chars": len(text), "words": len(text.split()), "text": text}


def build_small_documents(corpus: Path, out: Path, novel_chars: int = 150_000, accounts: int = 40) -> Path:
    """A small documents.jsonl of real text, built without the data stage (for stage 03/04 tests).

    Gutenberg novels (body between the START/END markers, truncated) and Ordinary's Accounts.
    """
    records = []
    for txt in sorted((corpus / "gutenberg-18c-novels-dighums" / "texts").glob("*.txt")):
        raw = txt.read_text(encoding="utf-8", errors="replace")
        m = _GUTENBERG_BODY.search(raw)
        body = (m.group(1) if m else raw)[:novel_chars]
        records.append(_record("gutenberg", "book", txt.stem, _NOVEL_YEARS.get(txt.stem), body, str(txt.name)))
    for txt in sorted((corpus / "old-bailey-ordinarys-accounts-txt" / "oa_txt").glob("OA*.txt"))[:accounts]:
        year = int(txt.stem[2:6])
        records.append(_record("old_bailey", "ordinary", txt.stem, year,
                               txt.read_text(encoding="utf-8", errors="replace"), txt.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return out


@pytest.fixture(scope="session")
def small_documents(tmp_path_factory) -> Path:
    """documents.jsonl (format v1, see README) of ~1 MB of real period text."""
    corpus = require_shared_corpus()
    return build_small_documents(corpus, tmp_path_factory.mktemp("docs") / "documents.jsonl")
