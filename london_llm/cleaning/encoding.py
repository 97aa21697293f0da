"""Bytes -> text for real-world files: UTF-8 (with or without BOM), cp1252, Latin-1, Mac Roman.

Never raises on undecodable bytes. UTF-8 text that was once mis-decoded as cp1252 and saved
again (mojibake such as `Gutenbergâ€™s`) is repaired sequence by sequence. Strict UTF-8 is tried first (it almost never accepts a
legacy 8-bit file by accident); otherwise each 8-bit candidate is scored by how plausible
its non-ASCII characters are in English prose, and the best one wins.
"""
from __future__ import annotations

import codecs
import re
from typing import NamedTuple

# Characters that really occur in English period text and typography.
_PLAUSIBLE = set("‘’“”—–…£§¶°½¼¾æœÆŒéèêëàâäçîïôöùûüñáíóúÉÈÀ·×«»")
# Characters a wrong 8-bit guess produces in English text (C1 controls, odd capitals, symbols).
_IMPLAUSIBLE = set(chr(c) for c in range(0x80, 0xA0)) | set("ÑÒÓÔÕÐÞþðÌÍÎÏÙÚÛ¤¦¨¯´¸¹³²ª º±µ◊ÿŸƒˆ˜‰ıˇ˘˙˚˛˝ΩπΔ∂∑∏√∞≈≠≤≥∫")
_IMPLAUSIBLE.discard(" ")
_NEWLINES = re.compile(r"\r\n?")


# Mojibake: UTF-8 that was once read as cp1252/Latin-1 and saved again ("Gutenbergâ€™s").
# A lead byte Â-ô followed by 1-3 continuation bytes, each shown as its cp1252/Latin-1 character.
_CONT = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014" \
        "\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CONT}]{{1,3}}")


def _unmangle(match: re.Match) -> str:
    piece = match.group(0)
    for codec in ("cp1252", "latin-1"):
        try:
            return piece.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
    return piece


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 sequences; text without them is returned unchanged."""
    if "Ã" not in text and "â" not in text and "Â" not in text:
        return text
    return _MOJIBAKE.sub(_unmangle, text)


class Decoded(NamedTuple):
    text: str
    encoding: str  # utf-8, utf-8-sig, cp1252, latin-1, mac_roman, or utf-8/replace


def _score(text: str, bare_cr: bool, name: str) -> float:
    score = 0.0
    for ch in text:
        if ch > "\x7f":
            if ch in _PLAUSIBLE:
                score += 1.0
            elif ch in _IMPLAUSIBLE:
                score -= 3.0
    if bare_cr and name == "mac_roman":  # classic Mac files end lines with a bare CR
        score += 0.5
    return score


def decode_bytes(data: bytes) -> Decoded:
    """Decode `data` to text with normalised line endings (\\n). Never raises."""
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(repair_mojibake(normalise_newlines(data[3:].decode("utf-8", errors="replace"))), "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(normalise_newlines(data.decode("utf-16", errors="replace")), "utf-16")
    try:
        return Decoded(repair_mojibake(normalise_newlines(data.decode("utf-8"))), "utf-8")
    except UnicodeDecodeError:
        pass
    # Only the non-ASCII bytes differ between candidates: score just those (fast on big files).
    high = bytes(sorted(set(b for b in data if b > 0x7F)))
    sample = bytes(b for b in data if b > 0x7F)[:200_000]
    bare_cr = b"\r" in data and b"\r\n" not in data[:100_000]
    best, best_score = "latin-1", float("-inf")
    for name in ("cp1252", "mac_roman", "latin-1"):
        try:
            high.decode(name)
        except UnicodeDecodeError:  # cp1252 leaves five bytes undefined
            continue
        score = _score(sample.decode(name), bare_cr, name)
        if score > best_score:
            best, best_score = name, score
    return Decoded(normalise_newlines(data.decode(best, errors="replace")), best)


def normalise_newlines(text: str) -> str:
    """CRLF and bare CR -> LF."""
    return _NEWLINES.sub("\n", text) if "\r" in text else text
