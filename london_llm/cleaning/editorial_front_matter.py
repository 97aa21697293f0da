"""The modern edition's front matter (classes producer_note and modern_title_page): transcribers' and
producers' notes, the edition's title and imprint pages, printing histories, notes on the text
itself and publishers' lists of other books. The passes of editorial.strip that drop them.

The book's own title page is kept: a page goes only with a modern edition's words or a year
after the text's (see `_modern_page`).
"""
from __future__ import annotations

import re
from typing import Optional

from .editorial_headings import is_heading, opens_section, producer_heading
from .editorial_paragraphs import FRONT_SHARE, Para
from .editorial_sections import LATER_YEARS, YEAR

_OPENING_CHARS = 30_000

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
    years = [int(y) for y in YEAR.findall(text)]
    return bool(year and any(y >= year + LATER_YEARS for y in years)) or any(y > 1913 for y in years)


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


def drop_producer_notes(paras: list[Para], drop: dict[int, str]) -> None:
    """Producer / transcriber / contributor notes: the note paragraph and, when it is only a heading,
    what follows up to the next heading (or the closing bracket of a bracketed note)."""
    for i, para in enumerate(paras):
        if i in drop or not producer_heading(para):
            continue
        drop[i] = "producer_note"
        opened = para.text.count("[") > para.text.count("]")
        head = para.text.strip()
        lone_heading = len(para.lines) <= 1 and len(head) <= 40 and not head.endswith(("]", ")", "."))
        j = i + 1
        while j < len(paras) and (opened or lone_heading) and j - i <= 12:
            if not opened and is_heading(paras[j]):
                break
            drop[j] = "producer_note"
            if opened and paras[j].text.count("]") > paras[j].text.count("["):
                break
            j += 1
            if lone_heading and not opened and paras[j - 1].gap >= 2 and j - i > 1:
                break


def drop_modern_title_pages(paras: list[Para], drop: dict[int, str], year: Optional[int]) -> None:
    """Modern title and imprint pages: runs of display paragraphs in the opening, cut into pages at
    wide gaps; a page with a modern edition's words or a later year goes."""
    i = 0
    while i < len(paras) and (_display(paras[i]) or i in drop):
        if i in drop:
            i += 1
            continue
        if opens_section(paras[i]):
            break  # the title pages end where an introduction or a table of contents begins
        page = [i]
        j = i + 1
        while j < len(paras) and _display(paras[j]) and paras[j].gap < 3 and len(page) < 15 and \
                not opens_section(paras[j]):
            page.append(j)
            j += 1
        if _modern_page("\n".join(paras[k].text for k in page), year):
            for k in page:
                drop.setdefault(k, "modern_title_page")
        i = j


def drop_imprints(paras: list[Para], drop: dict[int, str], year: Optional[int]) -> None:
    """A modern edition's imprint or printing history set anywhere ("J. M. DENT AND CO. / ALDINE HOUSE :
    LONDON / 1897", "First published September 1921 / New Impression October 1921"): a short display
    paragraph with a publisher's or printing word and a year after 1913 or 30+ years after the text's."""
    for i, para in enumerate(paras):
        if i in drop or len(para.text) > 1500 or not _ANY_YEAR.search(para.text) or len(para.lines) > 20 or \
                not _PUBLISHING.search(para.text):
            continue
        years = [int(y) for y in YEAR.findall(para.text)]
        later = LATER_YEARS // 3 if _PRINTING_HISTORY.search(para.text) else LATER_YEARS
        if any(y > 1913 or (year and y >= year + later) for y in years):
            drop[i] = "modern_title_page"


def drop_opening_notes_and_lists(paras: list[Para], drop: dict[int, str], total: int) -> None:
    """Notes on the text itself (about its spelling, punctuation, corrections, collation) and
    publishers' lists of other books, in the opening pages (the first 5%, at least 30,000 characters)."""
    offset = 0
    opening = min(total * FRONT_SHARE, max(_OPENING_CHARS, 0.05 * total))
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
