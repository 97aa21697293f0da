"""Books' hard line wraps are joined; verse, letters' address and signature lines, lists and tables stay."""
from __future__ import annotations

import pytest

from london_llm.cleaning import gutenberg_txt, unwrap

PROSE = ("It was a cold night, and the wind blew so hard through the streets of the town that the\n"
         "watchmen kept to their boxes, and the few people who were still abroad hurried along with\n"
         "their heads bent down against the weather, thinking of nothing but their own firesides.\n")


def _book(*paragraphs: str) -> str:
    filler = "\n\n".join([PROSE.strip()] * 12)  # enough lines for the book's margin to be measured
    return filler + "\n\n" + "\n\n".join(paragraphs)


def test_wrapped_prose_is_one_line_per_paragraph():
    text = unwrap.unwrap(_book(PROSE.strip()))
    last = text.split("\n\n")[-1]
    assert "\n" not in last and "that the watchmen kept" in last and "along with their heads" in last


def test_verse_letters_lists_and_tables_keep_their_lines():
    verse = ("Here lies a Man who lov'd his Bottle well,\nAnd drank his last where many Drinkers fell;\n"
             "He paid his Reck'ning to the Host of all,\nAnd went to Bed before the Ev'ning's Call.")
    letter = "To Dr LEWIS.\n\nDOCTOR,\n\nYour most humble servant,\nMATT. BRAMBLE.\nLONDON, Aug. 10th."
    items = "  1. Of the Streets of London.\n  2. Of the Markets and the Bridges over the River Thames in Summer.\n  3. Of Inns."
    table = "Wheat      per quarter      2 10 0\nBarley     per quarter      1  4 6\nOats       per quarter      0 18 0"
    text = unwrap.unwrap(_book(verse, letter, items, table))
    for block in (verse, letter, items, table):
        assert block in text


def test_a_hyphen_at_the_wrap_joins_without_a_space():
    para = ("He came to the door of the house, and found it had been broken open by some well-\n"
            "known thief of the neighbourhood, who had left the marks of his tools upon the lock.")
    assert "well-known thief" in unwrap.unwrap(_book(para))


@pytest.mark.corpus
def test_real_books_lose_their_wraps_but_not_their_verse(shared_corpus):
    books = shared_corpus / "gutenberg-london-books-rcdm-uga/texts"
    novel = gutenberg_txt.parse((books / "Dickens_Oliver_Twist.txt").read_bytes(), {})[0].text
    joined = unwrap.unwrap(novel)
    assert len(joined.split("\n")) < 0.5 * len(novel.split("\n"))
    assert "Among other public buildings in a certain town, which for many reasons it will be prudent to" \
           " refrain from mentioning" in joined
    pope = gutenberg_txt.parse((books / "Pope_The_Rape_of_the_Lock_and_Other_Poems.txt").read_bytes(), {})[0].text
    joined = unwrap.unwrap(pope)
    assert "What dire offence from am'rous causes springs,\n" in joined  # a couplet keeps its lines
    folio = gutenberg_txt.parse((books / "Shakespeare__Richard_III.txt").read_bytes(), {})[0].text
    joined = unwrap.unwrap(folio)
    assert "Now is the Winter of our Discontent,\nMade glorious Summer by this Son of Yorke:" in joined
