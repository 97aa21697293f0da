"""Modern English text that every Python installation carries, for a like-for-like comparison.

The comparison tokenizer must be trained on text available offline and reproducibly, so it uses
the Python standard library's own prose: the Language Reference topics behind `help()`
(pydoc_data.topics) and the docstrings of the standard library modules. That is modern, technical
English (2000s-2020s) - the opposite register to the historical corpus, which is the point.
"""
from __future__ import annotations

import ast
import os
import sysconfig
from pathlib import Path
from typing import Callable, Iterator

SOURCE_DESCRIPTION = ("Python {version} standard library: Language Reference topics (pydoc_data.topics) "
                      "and module/class/function docstrings")
_SKIP_PARTS = {"test", "tests", "idlelib", "site-packages", "dist-packages", "lib2to3", "__pycache__"}


def _docstrings(path: Path) -> Iterator[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):  # a few stdlib files are templates or another Python's syntax
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc and len(doc.split()) >= 5:  # skip one-word stubs
                yield doc


def _stdlib_files(stdlib: Path) -> list[Path]:
    """The library's .py files in sorted order, never descending into the skipped folders
    (site-packages alone can hold more files than the library)."""
    found = []
    for folder, dirs, files in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in _SKIP_PARTS]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(found)


def modern_english_sources() -> list[tuple[str, Callable[[], str]]]:
    """(name, a function returning its text) for every source, in a fixed order, without reading
    any: parsing the whole standard library takes ~10 s on a slow CPU, so a caller that needs only
    a few texts (evaluation's modern passages) reads only those."""
    from pydoc_data.topics import topics

    sources: list[tuple[str, Callable[[], str]]] = [
        (f"topic:{name}", (lambda text=text: text)) for name, text in sorted(topics.items())]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in _stdlib_files(stdlib):
        sources.append((f"module:{path.relative_to(stdlib)}", (lambda path=path: "\n\n".join(_docstrings(path)))))
    return sources


def modern_english_texts() -> list[tuple[str, str]]:
    """(name, text) pairs: one per reference topic and one per stdlib module's joined docstrings."""
    texts = []
    for name, read in modern_english_sources():
        text = read()
        if text:
            texts.append((name, text))
    return texts


def split_held_out(texts: list[tuple[str, str]], every: int = 10) -> tuple[list[str], list[str]]:
    """Every `every`-th text held out (deterministic), the rest for training."""
    train = [t for i, (_, t) in enumerate(texts) if i % every]
    held = [t for i, (_, t) in enumerate(texts) if not i % every]
    return train, held
