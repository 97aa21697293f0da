"""Content fingerprints: how artifacts recognise the files they were built from."""
from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path | str, block: int = 1 << 22) -> str:
    """sha256 of a file, read in blocks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
