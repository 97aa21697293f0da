"""A book as blank-line paragraphs (editorial.strip works on these), and where its front and back are.

`join` puts kept paragraphs back with the blank lines they had (at most three), so removing the
apparatus leaves the rest of the text's layout as it was.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

FRONT_SHARE = 0.4  # introductions and tables of contents are looked for in the first 40% of a book
BACK_SHARE = 0.35  # endnote blocks in the last 35%

_PARA_SPLIT = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")


@dataclass
class Para:
    text: str
    gap: int  # blank lines before it
    _lines: Optional[list] = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:  # asked for many times per paragraph: split once
            self._lines = [line for line in self.text.split("\n") if line.strip()]
        return self._lines


def paragraphs(text: str) -> list[Para]:
    parts = _PARA_SPLIT.split(text)
    out, gap = [], 0
    for i, part in enumerate(parts):
        if i % 2:
            gap = part.count("\n") - 1
        elif part.strip():
            out.append(Para(part, gap))
    return out


def join(paras: list[Para]) -> str:
    out = []
    for i, p in enumerate(paras):
        if i:
            out.append("\n" * (min(p.gap, 3) + 1))
        out.append(p.text)
    return "".join(out)
