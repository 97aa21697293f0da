"""Download items for the cleaning build: a data file and its sidecar's fields.

The sidecar format itself (constants, writer, reader, version check) is owned by the stage that
writes it, london_llm.collect.sidecar; the names are re-exported here for the cleaning modules.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..collect.sidecar import (FORMAT_VERSION, REQUIRED, SUFFIX, SidecarError, data_path, find_sidecars,
                               read_meta, sidecar_path, write_sidecar)
from .formats import PARSERS

__all__ = ["FORMAT_VERSION", "REQUIRED", "SUFFIX", "Item", "SidecarError", "find_sidecars", "read_sidecar",
           "sidecar_path", "write_sidecar"]


@dataclass(frozen=True)
class Item:
    """One complete download: its data file and its sidecar's fields."""

    path: Path
    meta: dict

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def read_sidecar(path: Path) -> Item:
    """The item a sidecar describes (checked by collect.sidecar.read_meta; its format must have a parser)."""
    meta = read_meta(path)
    if meta["format"] not in PARSERS:
        raise SidecarError(f"{path}: no parser for format {meta['format']!r}; known: {', '.join(PARSERS)}")
    return Item(data_path(path), meta)
