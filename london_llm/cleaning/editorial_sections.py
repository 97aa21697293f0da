"""Editors' introductions, prefaces and notes (class editor_text): the signs of a later hand, and the
two passes of editorial.strip that drop the sections showing them.

A headed section is a later editor's when its heading names someone other than the author or the
edition, it is signed with another's name or initials, it speaks of the author by surname (three
times or more, or once with his death), or it is dated 30+ years after the text. The author's own
prefaces, dedications and letters show none of these and are kept.
"""
from __future__ import annotations

import re
from typing import Optional

from .editorial_headings import INITIALS, is_heading, notes_heading, section_heading
from .editorial_paragraphs import FRONT_SHARE, Para

LATER_YEARS = 30  # a section dated this long after the text is a later editor's
_SURNAME_MENTIONS = 3
# A signature: two to four capitalised names or initials ("C. LOVAT FRASER.", "Henry Morley"), no more.
_SIGNATURE_LINE = re.compile(r"^\s*(?:(?:[A-Z]\.|[A-Z][A-Za-z'’-]+\.?)\s+){1,3}[A-Z][A-Za-z'’-]+\.?\s*$")
_NOT_A_NAME = re.compile(r"\b(?:CHAPTER|BOOK|PART|ACT|SCENE|CANTO|LETTER|VOL|VOLUME|PREFACE|INTRODUCTION|CONTENTS|"
                         r"THE|OF|AND|TO|A|AN|IN|NOTES?|EPISTLE|ESSAY|PROLOGUE|EPILOGUE|DEDICATION|PERSONAE)\b", re.I)
_NAME_LINE = re.compile(r"^\s*(?:[A-Z][a-z]+\.?\s+){0,3}[A-Z][A-Za-z'’-]+\.?\s*$")
# The closing formula of the author's own letter or preface ("Your most humble Servant"), not a name.
_FORMULA = re.compile(r"\b(?:servant|humble|obedient|yours?|friend|author|finis|the\s+end)\b", re.I)
YEAR = re.compile(r"(?<![\d,])(1[5-9]\d\d|20\d\d)(?![\d,])")
BY_NAME = re.compile(r"\b(?:by|with)\s+(?:the\s+)?([A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4})", re.I)
_EDITION_WORDS = re.compile(r"\beditor|\beditorial|\bthis\s+edition|\bpresent\s+edition|\bedited\b|\btranslator|"
                            r"\bpublisher", re.I)
# The author's death, told with its year: no author writes that of himself ("died at London in 1761").
_DEATH = re.compile(r"\b(?:died|death)\b[^.;]{0,60}?\b1[5-9]\d\d\b", re.I)
AUTHORISH = re.compile(r"\bauthor\b|\bthe\s+writer\b", re.I)


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper())


def _signature(paras: list[Para]) -> Optional[str]:
    """The signature closing a section: a line of initials or a short name line (before any date line)."""
    for para in reversed(paras[-3:]):
        if len(para.lines) == 1 and para.gap > 1 and is_heading(para):
            continue  # set apart like a heading: not a signature
        for line in reversed(para.lines[-3:]):
            stripped = line.strip()
            if INITIALS.match(stripped) or _is_signature_line(stripped):
                return stripped
            if _NAME_LINE.match(stripped) and len(stripped) <= 40 and len(para.lines) <= 3 and \
                    not _FORMULA.search(stripped):
                return stripped
    return None


def _is_signature_line(line: str) -> bool:
    return bool(_SIGNATURE_LINE.match(line)) and not _NOT_A_NAME.search(line) and not _FORMULA.search(line)


def _signed_by_other(signature: Optional[str], author: Optional[str]) -> bool:
    if not signature or not author:
        return False
    sig_initials = _initials(signature.replace(".", ". "))
    author_initials = _initials(author)
    surname = author.split()[-1].lower() if author.split() else ""
    if surname and surname in signature.lower():
        return False
    if sig_initials and author_initials and (sig_initials == author_initials or sig_initials in author_initials):
        return False
    return True


def _section_end(paras: list[Para], start: int) -> int:
    """Index after a section: the next heading, a signature line (or initials) belonging to it."""
    end = start + 1
    while end < len(paras):
        para = paras[end]
        stripped = para.text.strip()
        signature = para.gap <= 1 and (INITIALS.match(stripped) or _is_signature_line(stripped))
        if is_heading(para) and not signature:
            break
        end += 1
    return end


def _editorial_section(heading: Para, body: list[Para], *, author: Optional[str], year: Optional[int],
                       in_front: bool) -> bool:
    """Is this headed section a later editor's (see the module doc)?"""
    head = " ".join(line.strip() for line in heading.lines)
    if AUTHORISH.search(head):
        return False  # "AUTHOR'S PREFACE", "PREFACE BY THE AUTHOR"
    if in_front and _EDITION_WORDS.search(head):
        return True
    by = BY_NAME.search(head)
    if by and author and author.split()[-1].lower() not in by.group(1).lower():
        return True
    if _signed_by_other(_signature(body), author):
        return True
    text = "\n".join(p.text for p in body)
    if author:
        surname = author.split()[-1]
        mentions = len(re.findall(rf"\b{re.escape(surname)}\b", text)) if len(surname) > 2 else 0
        if mentions >= _SURNAME_MENTIONS or (mentions and _DEATH.search(text)):
            return True
    if year:
        later = [int(y) for y in YEAR.findall(text) if int(y) >= year + LATER_YEARS]
        if later:
            return True
    return False


def drop_editor_sections(paras: list[Para], drop: dict[int, str], total: int, *, author: Optional[str],
                         year: Optional[int]) -> None:
    """Editors' introductions, prefaces and notes."""
    offset = 0
    for i, para in enumerate(paras):
        in_front = offset <= total * FRONT_SHARE
        offset += len(para.text)
        if i in drop or not section_heading(para) or notes_heading(para) and not in_front:
            continue
        end = _section_end(paras, i)
        body = paras[i + 1:end]
        if sum(len(p.text) for p in body) > max(0.25 * total, 5000) and not BY_NAME.search(para.text):
            continue  # no heading closes it: this is not one preface but the book
        if body and _editorial_section(para, body, author=author, year=year, in_front=in_front):
            for k in range(i, end):
                drop.setdefault(k, "editor_text")


def drop_later_front_sections(paras: list[Para], drop: dict[int, str], total: int, *, author: Optional[str],
                              year: Optional[int]) -> None:
    """Any other headed section of the front matter that a later hand signed and dated, or that is
    about the author (named in its heading)."""
    surname = author.split()[-1] if author and len(author.split()[-1]) > 2 else None
    offset = 0
    for i, para in enumerate(paras):
        offset += len(para.text)
        if offset > total * FRONT_SHARE:
            break
        if i in drop or not is_heading(para) or section_heading(para) or \
                (para.gap <= 1 and _is_signature_line(para.text.strip())):
            continue
        end = _section_end(paras, i)
        body = paras[i + 1:end]
        if not body or sum(len(p.text) for p in body) > 0.1 * total:
            continue
        text_ = "\n".join(p.text for p in body)
        later = year and any(int(y) >= year + LATER_YEARS for y in YEAR.findall(text_))
        head = " ".join(para.lines)
        about_author = bool(surname and re.search(  # "CHIEF DATES IN POPE'S LIFE", "LIFE OF DEFOE" (not "TO DR. BURNEY")
            rf"\b{re.escape(surname)}['’]s\b|\b(?:of|on|about)\s+(?:[\w.]+\s+){{0,2}}{re.escape(surname)}\b",
            head, re.I)) and len(text_) > 200
        if about_author or (later and _signed_by_other(_signature(body), author)):
            for k in range(i, end):
                drop.setdefault(k, "editor_text")
