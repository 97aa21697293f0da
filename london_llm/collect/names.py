"""Safe local file names for anything derived from remote data (identifiers, URLs, API fields)."""
from __future__ import annotations

import hashlib
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120  # well under every filesystem's 255-byte limit, leaving room for ".meta.json"
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_filename(name: str, default: str = "file") -> str:
    """A name that cannot escape its folder, hide itself, or trip Windows: ASCII letters, digits, . _ -.

    Path separators, `..`, control characters and leading dots are neutralised; an over-long name
    is cut and given a short hash of the original so that two long names stay distinct.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text).strip("._-")
    if not text:
        text = default
    if text.split(".")[0].lower() in _RESERVED:
        text = "_" + text
    if len(text) > MAX_NAME:
        digest = hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:10]
        stem, dot, ext = text.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        keep = MAX_NAME - len(digest) - 1 - (len(ext) + 1 if ext else 0)
        text = f"{(stem if ext else text)[:keep]}_{digest}" + (f".{ext}" if ext else "")
    return text
