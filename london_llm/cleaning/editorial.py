"""Editorial apparatus of modern editions, removed from books (each class counted, in characters).

Classes (docs/data_cleaning.md):
  producer_note      transcriber's, contributor's, producer's, proofreader's notes under any spelling
                     (heading words matched fuzzily: "Transcribers Note", "Contributer's note")
  modern_title_page  title and imprint pages of the modern edition: display lines (short, set apart)
                     naming an editor, a press, a university, "this edition", reprint, a year after the
                     text's; the book's own title page is kept
  contents           tables of contents and lists of illustrations: the heading and the entries after
                     it, up to the first prose paragraph or the first entry's reappearance as a heading
  editor_text        introductions, prefaces and notes by later editors: a section so headed whose
                     heading names someone other than the author ("INTRODUCTION BY HENRY MORLEY") or the
                     edition/editor, that is signed with another's name or initials, that speaks of the
                     author by surname (three times or more), or that is dated 30+ years after the text.
                     The author's own prefaces, dedications and letters (none of those signs) are kept
  footnote           footnote and endnote bodies: paragraphs opening with a marker that the text used
                     before (`[12]`, `{12a}`, `*`), and endnote blocks under a NOTES heading at the end
  footnote_marker    the in-text markers (`{12a}`, `[12]`, `word,*`) and page markers (`{415}`)
Everything works on structure (blank-line paragraphs, line lengths, capitals, markers), not on
particular books. `keep=True` (`--keep_editorial`) returns the text untouched, the counts still made.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Optional

CLASSES = ("producer_note", "modern_title_page", "contents", "editor_text", "footnote", "footnote_marker")

_PARA_SPLIT = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")
_FRONT_SHARE = 0.4  # introductions and tables of contents are looked for in the first 40% of a book
_BACK_SHARE = 0.35  # endnote blocks in the last 35%
_LATER_YEARS = 30  # a section dated this long after the text is a later editor's
_SURNAME_MENTIONS = 3
_OPENING_CHARS = 30_000


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


def _paragraphs(text: str) -> list[Para]:
    parts = _PARA_SPLIT.split(text)
    out, gap = [], 0
    for i, part in enumerate(parts):
        if i % 2:
            gap = part.count("\n") - 1
        elif part.strip():
            out.append(Para(part, gap))
    return out


def _join(paras: list[Para]) -> str:
    out = []
    for i, p in enumerate(paras):
        if i:
            out.append("\n" * (min(p.gap, 3) + 1))
        out.append(p.text)
    return "".join(out)


# --- fuzzy heading words ------------------------------------------------------------------------

@lru_cache(maxsize=65536)  # a book repeats its words: each is compared with a vocabulary once
def _fuzzy(word: str, vocabulary: tuple[str, ...], cutoff: float = 0.8) -> Optional[str]:
    word = re.sub(r"['’]s?$|s['’]$", "", word.lower())
    if len(word) < 4:
        return None
    if word in vocabulary:
        return word
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)
    return close[0] if close else None


_PRODUCER_WORDS = ("transcriber", "transcribers", "contributor", "contributors", "producer", "producers",
                   "proofreader", "digitizer", "digitiser", "scanner", "etext", "e-text", "encoder")
_NOTE_WORDS = ("note", "notes", "notice", "remarks", "comment", "comments")
_CONTENTS_WORDS = ("contents", "illustrations", "index", "plates")
_SECTION_WORDS = ("introduction", "preface", "prefatory", "foreword", "memoir", "biographical", "note",
                  "notes", "editor", "editorial", "introductory", "bibliography", "chronology")
_QUALIFIERS = ("critical", "biographical", "introductory", "prefatory", "general", "short", "editor", "editors",
               "editorial", "publisher", "publishers", "translator", "translators", "special", "historical")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _producer_heading(para: Para) -> bool:
    """`Transcriber's Note:`, `[Transcribers notes`, `Note from the contributer`, `Producer's Note.`"""
    first = para.lines[0].strip().lstrip("[(").strip() if para.lines else ""
    words = [m.group() for m in islice(_WORD.finditer(first), 5)]  # _words(first)[:5], not the whole line
    if not words:
        return False
    lowered = [w.lower() for w in words]
    starts = lowered[0] in ("note", "notes", "a", "the") or bool(_fuzzy(words[0], _PRODUCER_WORDS, 0.78))
    if not starts:
        return False
    has_note = any(w in ("by", "from") for w in lowered) or any(_fuzzy(w, _NOTE_WORDS, 0.75) for w in words)
    return has_note and any(_fuzzy(w, _PRODUCER_WORDS, 0.78) for w in words)


_NOT_LETTER = re.compile(r"[^A-Za-zÀ-ÖØ-öø-ÿ]+")
_NOT_UPPER = re.compile(r"[^A-ZÀ-ÖØ-Þ]+")


def _is_heading(para: Para) -> bool:
    """A heading: one or two short lines, mostly capitals, not a signature of initials."""
    if len(para.text) > 160:
        return False
    lines = para.lines
    if not 1 <= len(lines) <= 2 or max(len(line.strip()) for line in lines) > 70:
        return False
    text = " ".join(line.strip() for line in lines)
    if _INITIALS.match(text):
        return False
    letters = len(_NOT_LETTER.sub("", text))  # counted in C, not character by character
    return letters >= 4 and len(_NOT_UPPER.sub("", text)) >= 0.7 * letters


def _heading_words(para: Para) -> list[str]:
    return [w.lower().strip("'’") for w in _words(" ".join(para.lines))]


def _section_heading(para: Para) -> bool:
    if not _is_heading(para):
        return False
    words = [w for w in _heading_words(para) if w not in ("the", "a", "an", "to", "of")]
    if not 0 < len(words) <= 12:
        return False
    if any(w.startswith("editor") for w in words):  # "GENERAL EDITOR", "ADVISORY EDITORS", "EDITOR'S NOTE"
        return True
    first = words[1:2] if words[0] in _QUALIFIERS and len(words) > 1 else words[:1]  # "CRITICAL INTRODUCTION"
    return any(_fuzzy(w, _SECTION_WORDS, 0.82) for w in first)


def _opens_section(para: Para) -> bool:
    """A heading followed by its own text: an introduction, preface or note, or a table of contents
    (not a line of a title page such as "WITH INTRODUCTION AND NOTES")."""
    return (_section_heading(para) or _contents_heading(para)) and not _MODERN_TITLE_LINE.search(para.text)


_MODERN_TITLE_LINE = re.compile(r"^\s*(?:with|edited|and)\b", re.I)


def _contents_heading(para: Para) -> bool:
    if not _is_heading(para):
        return False
    words = _heading_words(para)
    return 0 < len(words) <= 6 and any(_fuzzy(w, _CONTENTS_WORDS, 0.8) for w in words) and \
        not any(w in ("index",) for w in words[1:2])


# --- signs of a later hand ----------------------------------------------------------------------

_INITIALS = re.compile(r"^\s*[\[(]?(?:[A-Z]\.\s*){1,4}[\])]?\s*$")
# A signature: two to four capitalised names or initials ("C. LOVAT FRASER.", "Henry Morley"), no more.
_SIGNATURE_LINE = re.compile(r"^\s*(?:(?:[A-Z]\.|[A-Z][A-Za-z'’-]+\.?)\s+){1,3}[A-Z][A-Za-z'’-]+\.?\s*$")
_NOT_A_NAME = re.compile(r"\b(?:CHAPTER|BOOK|PART|ACT|SCENE|CANTO|LETTER|VOL|VOLUME|PREFACE|INTRODUCTION|CONTENTS|"
                         r"THE|OF|AND|TO|A|AN|IN|NOTES?|EPISTLE|ESSAY|PROLOGUE|EPILOGUE|DEDICATION|PERSONAE)\b", re.I)
_NAME_LINE = re.compile(r"^\s*(?:[A-Z][a-z]+\.?\s+){0,3}[A-Z][A-Za-z'’-]+\.?\s*$")
# The closing formula of the author's own letter or preface ("Your most humble Servant"), not a name.
_FORMULA = re.compile(r"\b(?:servant|humble|obedient|yours?|friend|author|finis|the\s+end)\b", re.I)
_YEAR = re.compile(r"(?<![\d,])(1[5-9]\d\d|20\d\d)(?![\d,])")
_BY_NAME = re.compile(r"\b(?:by|with)\s+(?:the\s+)?([A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4})", re.I)
_EDITION_WORDS = re.compile(r"\beditor|\beditorial|\bthis\s+edition|\bpresent\s+edition|\bedited\b|\btranslator|"
                            r"\bpublisher", re.I)
# The author's death, told with its year: no author writes that of himself ("died at London in 1761").
_DEATH = re.compile(r"\b(?:died|death)\b[^.;]{0,60}?\b1[5-9]\d\d\b", re.I)
_AUTHORISH = re.compile(r"\bauthor\b|\bthe\s+writer\b", re.I)


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper())


def _signature(paras: list[Para]) -> Optional[str]:
    """The signature closing a section: a line of initials or a short name line (before any date line)."""
    for para in reversed(paras[-3:]):
        if len(para.lines) == 1 and para.gap > 1 and _is_heading(para):
            continue  # set apart like a heading: not a signature
        for line in reversed(para.lines[-3:]):
            stripped = line.strip()
            if _INITIALS.match(stripped) or _is_signature_line(stripped):
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
        signature = para.gap <= 1 and (_INITIALS.match(stripped) or _is_signature_line(stripped))
        if _is_heading(para) and not signature:
            break
        end += 1
    return end


def _editorial_section(heading: Para, body: list[Para], *, author: Optional[str], year: Optional[int],
                       in_front: bool) -> bool:
    """Is this headed section a later editor's (see the module doc)?"""
    head = " ".join(line.strip() for line in heading.lines)
    if _AUTHORISH.search(head):
        return False  # "AUTHOR'S PREFACE", "PREFACE BY THE AUTHOR"
    if in_front and _EDITION_WORDS.search(head):
        return True
    by = _BY_NAME.search(head)
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
        later = [int(y) for y in _YEAR.findall(text) if int(y) >= year + _LATER_YEARS]
        if later:
            return True
    return False


# --- markers ------------------------------------------------------------------------------------

_CURLY_MARKER = re.compile(r"[ \t]?\{(?:[0-9]{1,4}[a-z]?|[a-z]|p\.\s?\d+)\}")
_BRACKET_MARKER = re.compile(r"(?<=[\w.,;:!?’”\"')\]])\[(\d{1,3}|[A-Z])\]|(?<=\s)\[(\d{1,3})\](?=\s)")
_PAGE_MARKER_AT_START = re.compile(r"^\[(\d{1,4})\][ \t]+(?=\S)", re.M)
_STAR_MARKER = re.compile(r"(?<=[\w.,;:!?’”\"')])(\*{1,4}|†|‡)(?=[\s.,;:!?)’”\"]|$)", re.M)
_NOTE_START = re.compile(r"^[ \t]*(\[\d{1,3}\]|\[[A-Z]\]|\{[0-9]{1,4}[a-z]?\}|\*{1,4}(?=\s)|†|‡|Footnote\s+\d+)", re.I)
_NOTES_HEADING = ("notes", "footnotes", "endnotes", "annotations")


def _marker_key(marker: str) -> str:
    return re.sub(r"\s+", "", marker).lower()


def strip(text: str, *, author: Optional[str] = None, year: Optional[int] = None,
          keep: bool = False) -> tuple[str, Counter]:
    """`text` without the edition's apparatus, and the characters removed per class."""
    removed: Counter = Counter()
    paras = _paragraphs(text)
    if not paras:
        return text, removed
    total = sum(len(p.text) for p in paras) or 1
    drop: dict[int, str] = {}

    # producer / transcriber / contributor notes: the note paragraph and, when it is only a heading,
    # what follows up to the next heading (or the closing bracket of a bracketed note)
    for i, para in enumerate(paras):
        if i in drop or not _producer_heading(para):
            continue
        drop[i] = "producer_note"
        opened = para.text.count("[") > para.text.count("]")
        head = para.text.strip()
        lone_heading = len(para.lines) <= 1 and len(head) <= 40 and not head.endswith(("]", ")", "."))
        j = i + 1
        while j < len(paras) and (opened or lone_heading) and j - i <= 12:
            if not opened and _is_heading(paras[j]):
                break
            drop[j] = "producer_note"
            if opened and paras[j].text.count("]") > paras[j].text.count("["):
                break
            j += 1
            if lone_heading and not opened and paras[j - 1].gap >= 2 and j - i > 1:
                break

    # modern title and imprint pages: runs of display paragraphs in the opening, cut into pages at
    # wide gaps; a page with a modern edition's words or a later year goes
    i = 0
    while i < len(paras) and (_display(paras[i]) or i in drop):
        if i in drop:
            i += 1
            continue
        if _opens_section(paras[i]):
            break  # the title pages end where an introduction or a table of contents begins
        page = [i]
        j = i + 1
        while j < len(paras) and _display(paras[j]) and paras[j].gap < 3 and len(page) < 15 and \
                not _opens_section(paras[j]):
            page.append(j)
            j += 1
        if _modern_page("\n".join(paras[k].text for k in page), year):
            for k in page:
                drop.setdefault(k, "modern_title_page")
        i = j

    # a modern edition's imprint or printing history set anywhere ("J. M. DENT AND CO. / ALDINE HOUSE :
    # LONDON / 1897", "First published September 1921 / New Impression October 1921"): a short display
    # paragraph with a publisher's or printing word and a year after 1913 or 30+ years after the text's
    for i, para in enumerate(paras):
        if i in drop or len(para.text) > 1500 or not _ANY_YEAR.search(para.text) or len(para.lines) > 20 or \
                not _PUBLISHING.search(para.text):
            continue
        years = [int(y) for y in _YEAR.findall(para.text)]
        later = _LATER_YEARS // 3 if _PRINTING_HISTORY.search(para.text) else _LATER_YEARS
        if any(y > 1913 or (year and y >= year + later) for y in years):
            drop[i] = "modern_title_page"

    # tables of contents
    offset = 0
    for i, para in enumerate(paras):
        if offset > total * _FRONT_SHARE:
            break
        offset += len(para.text)
        if i in drop or not _contents_heading(para):
            continue
        drop[i] = "contents"
        seen: set[str] = set()
        for j in range(i + 1, len(paras)):
            key = _entry_key(paras[j])
            wide_gap_heading = seen and paras[j].gap >= 3 and len(paras[j].lines) == 1  # "CHAPTER I", the title
            if key in seen or not _entry(paras[j]) or wide_gap_heading:
                break
            seen.add(key)
            drop.setdefault(j, "contents")

    # tables of contents without a heading: a numbered or paged list in the front matter whose
    # entries come back later as headings
    offset = 0
    headings = None
    for i, para in enumerate(paras):
        if offset > total * _FRONT_SHARE:
            break
        offset += len(para.text)
        lines = para.lines
        if i in drop or len(lines) < 4 or \
                sum(bool(_ENTRY_START.match(x) or _TRAILING_NUMBER.search(x)) for x in lines) < 0.7 * len(lines):
            continue
        if headings is None:
            headings = {_entry_key(Para(p.text, 0)) for p in paras if len(p.lines) <= 2 and len(p.text) <= 120}
        keys = {_entry_key(Para(x, 0)) for x in lines}
        if len((keys - {""}) & headings) >= 2:
            drop[i] = "contents"

    # notes on the text itself (about its spelling, punctuation, corrections, collation) and
    # publishers' lists of other books, in the opening pages (the first 5%, at least 30,000 characters)
    offset = 0
    opening = min(total * _FRONT_SHARE, max(_OPENING_CHARS, 0.05 * total))
    for i, para in enumerate(paras):
        if offset > opening:
            break
        offset += len(para.text)
        if i in drop:
            continue
        if len(_TEXT_NOTE.findall(para.text)) >= 3 and len(para.text) < 3000:
            drop[i] = "producer_note" if _PRODUCER_TEXT.search(para.text) else "editor_text"
        elif len(para.lines) >= 4 and len(_LISTED_BOOK.findall(para.text)) >= 2 and _display(para):
            drop[i] = "modern_title_page"
    # ... and a publisher's list set one title a paragraph: a run of three or more such paragraphs
    i = offset = 0
    while i < len(paras) and offset <= opening:
        j = i
        while j < len(paras) and len(paras[j].text) < 600 and _LISTED_TITLE.search(paras[j].text) and \
                not _SPEECH.search(paras[j].text):
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                drop.setdefault(k, "modern_title_page")
        offset += sum(len(p.text) for p in paras[i:max(j, i + 1)])
        i = max(j, i + 1)

    # editors' introductions, prefaces and notes
    offset = 0
    for i, para in enumerate(paras):
        in_front = offset <= total * _FRONT_SHARE
        offset += len(para.text)
        if i in drop or not _section_heading(para) or _notes_heading(para) and not in_front:
            continue
        end = _section_end(paras, i)
        body = paras[i + 1:end]
        if sum(len(p.text) for p in body) > max(0.25 * total, 5000) and not _BY_NAME.search(para.text):
            continue  # no heading closes it: this is not one preface but the book
        if body and _editorial_section(para, body, author=author, year=year, in_front=in_front):
            for k in range(i, end):
                drop.setdefault(k, "editor_text")

    # any other headed section of the front matter that a later hand signed and dated, or that is
    # about the author (named in its heading)
    surname = author.split()[-1] if author and len(author.split()[-1]) > 2 else None
    offset = 0
    for i, para in enumerate(paras):
        offset += len(para.text)
        if offset > total * _FRONT_SHARE:
            break
        if i in drop or not _is_heading(para) or _section_heading(para) or \
                (para.gap <= 1 and _is_signature_line(para.text.strip())):
            continue
        end = _section_end(paras, i)
        body = paras[i + 1:end]
        if not body or sum(len(p.text) for p in body) > 0.1 * total:
            continue
        text_ = "\n".join(p.text for p in body)
        later = year and any(int(y) >= year + _LATER_YEARS for y in _YEAR.findall(text_))
        head = " ".join(para.lines)
        about_author = bool(surname and re.search(  # "CHIEF DATES IN POPE'S LIFE", "LIFE OF DEFOE" (not "TO DR. BURNEY")
            rf"\b{re.escape(surname)}['’]s\b|\b(?:of|on|about)\s+(?:[\w.]+\s+){{0,2}}{re.escape(surname)}\b",
            head, re.I)) and len(text_) > 200
        if about_author or (later and _signed_by_other(_signature(body), author)):
            for k in range(i, end):
                drop.setdefault(k, "editor_text")

    # endnote blocks: a NOTES heading late in the book whose paragraphs are mostly notes
    offset = 0
    for i, para in enumerate(paras):
        offset += len(para.text)
        if i in drop or offset < total * (1 - _BACK_SHARE) or not _notes_heading(para):
            continue
        following = [p for p in paras[i + 1:i + 21]]
        if following and sum(bool(_NOTE_START.match(p.text) or _LINE_REF.match(p.text)) for p in following) \
                >= 0.4 * len(following):
            for k in range(i, len(paras)):
                if _is_heading(paras[k]) and k > i and not _notes_heading(paras[k]) and \
                        not _NOTE_START.match(paras[k + 1].text if k + 1 < len(paras) else ""):
                    break
                drop.setdefault(k, "footnote")

    # editors' notes by line reference set between the acts or chapters ("I. i. 105. Flower-de-luce ..."):
    # runs of three or more paragraphs that each open with one
    i = 0
    while i < len(paras):
        j = i
        while j < len(paras) and _LINE_REF.match(paras[j].text):
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                drop.setdefault(k, "footnote")
        i = max(j, i + 1)

    # footnote bodies: a paragraph opening with a marker the text has already used
    used: set[str] = set()
    for i, para in enumerate(paras):
        match = _NOTE_START.match(para.text)
        if match and i not in drop and _marker_key(match.group(1)) in used and len(para.text) < 3000:
            drop[i] = "footnote"
        body = para.text[match.end():] if match else para.text
        if "{" in body:  # each marker pattern only where its literal occurs
            for m in _CURLY_MARKER.finditer(body):
                used.add(_marker_key(m.group(0).strip()))
        if "[" in body:
            for m in _BRACKET_MARKER.finditer(body):
                used.add(f"[{(m.group(1) or m.group(2)).lower()}]")
        if "*" in body or "†" in body or "‡" in body:
            for m in _STAR_MARKER.finditer(body):
                used.add(m.group(1))

    kept = []
    marker_chars = 0
    for i, para in enumerate(paras):
        if i in drop:
            removed[drop[i]] += len(para.text) + 1
            continue
        text_ = para.text
        # markers: each pattern only where its literal occurs (a regex with a look-behind is tried at
        # every position of a 2 MB novel otherwise)
        if "{" in text_:
            text_, marker_chars = _count_sub(_CURLY_MARKER, text_, marker_chars)
        if "[" in text_:
            text_, marker_chars = _count_sub(_BRACKET_MARKER, text_, marker_chars)
            text_, marker_chars = _count_sub(_PAGE_MARKER_AT_START, text_, marker_chars)
        if "*" in text_ or "†" in text_ or "‡" in text_:
            text_, marker_chars = _count_sub(_STAR_MARKER, text_, marker_chars)
        kept.append(Para(text_, para.gap) if text_ is not para.text else para)
    out = _join(kept)
    if marker_chars:
        removed["footnote_marker"] += marker_chars
    return (text if keep else out), removed


def _count_sub(pattern: re.Pattern, text: str, count: int) -> tuple[str, int]:
    total = [count]

    def cut(match: re.Match) -> str:
        total[0] += len(match.group(0))
        return ""

    return pattern.sub(cut, text), total[0]


_MODERN_PAGE = re.compile(r"(?i:\bedited\b|\beditors?\b|introduction\s+(?:and\s+notes\s+)?by|with\s+(?:an\s+)?introduction|"
                          r"notes\s+by|this\s+edition|edition\s+published|first\s+published|reprint|"
                          r"\buniversity\b|\bltd\b|\blimited\b|new\s+york|publication\s+number|professor|"
                          r"ph\.\s?d|copyright|printed\s+in\s+great\s+britain|transcribed\s+from|release\s+date)|"
                          r"\b(?:Press|PRESS|College|COLLEGE|Library|LIBRARY|Society|SOCIETY|Sons|SONS|M\.A\.)")


def _display(para: Para) -> bool:
    lines = para.lines
    return 0 < len(lines) <= 10 and max(len(line.strip()) for line in lines) <= 66 and \
        not (len(lines) >= 3 and sum(len(line) >= 55 for line in lines) >= 2)


def _modern_page(text: str, year: Optional[int]) -> bool:
    if _MODERN_PAGE.search(text):
        return True
    years = [int(y) for y in _YEAR.findall(text)]
    return bool(year and any(y >= year + _LATER_YEARS for y in years)) or any(y > 1913 for y in years)


_PRINTING_HISTORY = re.compile(r"(?i:first\s+published|first\s+issued|new\s+impression|reprinted|"
                               r"\b(?:second|third|fourth|fifth|new|cheap)\s+edition)")
_ANY_YEAR = re.compile(r"1[5-9]\d\d|20\d\d")  # a literal first character: a fast scan before the rest
_PUBLISHING = re.compile(r"(?i:published|reprinted|impression|edition|printed\s+(?:by|in|at)|\bpress\b|\bltd\b|"
                         r"\blimited\b|\bsons\b|\bco\.|\bcompany\b|new\s+york|all\s+rights)")
# The vocabulary of a note about the text itself: a producer's ("printer errors ... retained", "silently
# corrected") or an editor's ("collated", "the first Quarto", "variations").
_TEXT_NOTE = re.compile(r"(?i:\bretained\b|\bprinter['’]?s?\s+errors?|\bspelling\b|\bpunctuation\b|\bhyphenation\b|"
                        r"\bsilently\b|\bcorrected\b|\bcollated\b|\bcollation\b|\bvariations\b|\bvariants?\b|"
                        r"\breadings\b|\bemendations?\b|\bquarto\b|\bfolio\b|\bthis\s+edition\b|\bthe\s+original\b|"
                        r"\btypographical\b|\bpage\s+\d+)")
_PRODUCER_TEXT = re.compile(r"(?i:\bretained\b|\bprinter['’]?s?\s+errors?|\bsilently\b|\bcorrected\b|\btypographical\b|"
                            r"\bhyphenation\b)")
# A publisher's list of other books: titles "Edited by" / "Illustrated by" / "By AUTHOR", priced, in volumes.
_LISTED_BOOK = re.compile(r"(?i:\bedited\s+by\b|\billustrated\s+by\b|\bprice\b|\bvolumes?\b|\bshillings?\b|"
                          r"\bnow\s+ready\b|\buniform\s+with\b)|\bBy\s+[A-Z]{2,}")
_LISTED_TITLE = re.compile(r"(?i:\bedited\s+by\b|\billustrated\s+by\b|\billustrations?\s+by\b|\bfrontispiece\b|"
                           r"\bprice\s+\d|\buniform\s+with\b|\bnow\s+ready\b)")
_SPEECH = re.compile(r"[‘“\"]")  # narrative has dialogue; a publisher's list has none
_ENTRY_START = re.compile(r"^\s*(?:[-*•]\s*)?(?:chapter|chap\.|book|part|letter|vol\.?|volume|act|scene|canto|section|"
                          r"epistle|essay|no\.|[IVXLC]+\.?\s|\d+\.?\s)", re.I)
_LINE_REF = re.compile(r"^\s*(?:(?:l\.|ll\.|line|lines|p\.|page|v\.|ver\.)\s*\d+|[IVX]+\.\s*[ivx]+\.\s*\d+)", re.I)
_TRAILING_NUMBER = re.compile(r"(?:\s|\.)(\d{1,4}|[ivxlc]{1,6})\s*$", re.I)


def _entry(para: Para) -> bool:
    """A line of a table of contents: chapter-like, numbered, indented or short, not prose."""
    lines = para.lines
    if not lines:
        return False
    first = lines[0]
    if _ENTRY_START.match(first) or _TRAILING_NUMBER.search(first):
        return True
    short = sum(len(line.strip()) <= 60 for line in lines)
    if first.startswith((" ", "\t")) and (len(lines) <= 12 or short >= 0.9 * len(lines)):
        return True
    return short == len(lines) and (len(lines) <= 12 or sum(bool(_ENTRY_START.match(x)) for x in lines) >= 0.5 * len(lines))


_ENTRY_NUMBER = re.compile(r"^\s*(?:(?:chapter|chap\.|book|part|letter|no\.)\s*)?(?:[ivxlc]+|\d+)\b\.?\s*[-—:.]*\s*", re.I)


def _entry_key(para: Para) -> str:
    first = para.lines[0] if para.lines else ""
    first = _ENTRY_NUMBER.sub("", _TRAILING_NUMBER.sub("", first))
    return re.sub(r"[^a-z0-9]+", "", first.lower())[:30]


def _notes_heading(para: Para) -> bool:
    if not _is_heading(para):
        return False
    words = _heading_words(para)
    return 0 < len(words) <= 5 and any(w in _NOTES_HEADING for w in words[:2])


def residue(text: str) -> Counter:
    """Traces of apparatus still in a cleaned text, per class (0 everywhere in a clean corpus)."""
    found: Counter = Counter()
    if "{" in text:  # the marker's one literal: a C-speed test before the regex (slow: it starts optional)
        found["footnote_marker"] += len(_CURLY_MARKER.findall(text))
    for para in _paragraphs(text[:200_000]):
        if _producer_heading(para):
            found["producer_note"] += 1
        elif _contents_heading(para) and len(para.lines) == 1:
            found["contents"] += 1
        elif _is_heading(para) and _BY_NAME.search(" ".join(para.lines)) and \
                _section_heading(para) and not _AUTHORISH.search(para.text):
            found["editor_text"] += 1
    return +found
