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

The work is split by class, one module each, and strip runs their passes in this order (a paragraph
is claimed by the first pass that drops it): editorial_front_matter (producer_note,
modern_title_page), editorial_contents, editorial_sections (editor_text), editorial_footnotes
(footnote, footnote_marker). editorial_paragraphs holds the paragraph model, editorial_headings
what a heading looks like.
"""
from __future__ import annotations

from collections import Counter
from typing import Optional

from .editorial_contents import drop_contents, drop_unheaded_contents
from .editorial_footnotes import (CURLY_MARKER, cut_markers, drop_endnotes, drop_footnote_bodies,
                                  drop_line_reference_notes)
from .editorial_front_matter import (drop_imprints, drop_modern_title_pages, drop_opening_notes_and_lists,
                                     drop_producer_notes)
from .editorial_headings import contents_heading, is_heading, producer_heading, section_heading
from .editorial_paragraphs import Para, join, paragraphs
from .editorial_sections import AUTHORISH, BY_NAME, drop_editor_sections, drop_later_front_sections

CLASSES = ("producer_note", "modern_title_page", "contents", "editor_text", "footnote", "footnote_marker")


def strip(text: str, *, author: Optional[str] = None, year: Optional[int] = None,
          keep: bool = False) -> tuple[str, Counter]:
    """`text` without the edition's apparatus, and the characters removed per class."""
    removed: Counter = Counter()
    paras = paragraphs(text)
    if not paras:
        return text, removed
    total = sum(len(p.text) for p in paras) or 1
    drop: dict[int, str] = {}  # paragraph index -> the class that removes it

    # the order matters: a paragraph keeps the class of the first pass that drops it
    drop_producer_notes(paras, drop)
    drop_modern_title_pages(paras, drop, year)
    drop_imprints(paras, drop, year)
    drop_contents(paras, drop, total)
    drop_unheaded_contents(paras, drop, total)
    drop_opening_notes_and_lists(paras, drop, total)
    drop_editor_sections(paras, drop, total, author=author, year=year)
    drop_later_front_sections(paras, drop, total, author=author, year=year)
    drop_endnotes(paras, drop, total)
    drop_line_reference_notes(paras, drop)
    drop_footnote_bodies(paras, drop)

    kept = []
    marker_chars = 0
    for i, para in enumerate(paras):
        if i in drop:
            removed[drop[i]] += len(para.text) + 1
            continue
        text_, cut = cut_markers(para.text)
        marker_chars += cut
        kept.append(Para(text_, para.gap) if text_ is not para.text else para)
    out = join(kept)
    if marker_chars:
        removed["footnote_marker"] += marker_chars
    return (text if keep else out), removed


def residue(text: str) -> Counter:
    """Traces of apparatus still in a cleaned text, per class (0 everywhere in a clean corpus)."""
    found: Counter = Counter()
    if "{" in text:  # the marker's one literal: a C-speed test before the regex (slow: it starts optional)
        found["footnote_marker"] += len(CURLY_MARKER.findall(text))
    for para in paragraphs(text[:200_000]):
        if producer_heading(para):
            found["producer_note"] += 1
        elif contents_heading(para) and len(para.lines) == 1:
            found["contents"] += 1
        elif is_heading(para) and BY_NAME.search(" ".join(para.lines)) and \
                section_heading(para) and not AUTHORISH.search(para.text):
            found["editor_text"] += 1
    return +found
