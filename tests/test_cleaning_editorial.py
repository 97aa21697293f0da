"""Editorial apparatus of modern editions is removed from real Gutenberg books, each class counted;
the author's own prefaces, dedications and letters stay."""
from __future__ import annotations

import pytest

from london_llm.cleaning import contamination, editorial, gutenberg_txt

pytestmark = pytest.mark.corpus
BOOKS = "gutenberg-london-books-rcdm-uga/texts/"


def _clean(shared_corpus, rel: str, year: int):
    raw = gutenberg_txt.parse((shared_corpus / rel).read_bytes(), {})[0]
    return editorial.strip(raw.text, author=raw.author, year=year)


def test_an_editors_signed_introduction_goes_and_the_authors_preface_and_notes_markers(shared_corpus):
    text, removed = _clean(shared_corpus, BOOKS + "Morley_The_History_of_John_Bull.txt", 1712)
    assert "This is the book which fixed the name and character of John Bull" not in text  # INTRODUCTION BY ...
    assert "When I was first called to the office of historiographer to John Bull" in text  # AUTHOR'S PREFACE
    assert "A Member of Parliament, eminent for a certain cant" not in text  # a footnote body
    assert "Sir Humphrey Polesworth, I know" in text  # ... and its marker `Polesworth,*`
    assert removed["editor_text"] > 4000 and removed["footnote"] > 1000 and removed["footnote_marker"] > 0


def test_an_introduction_signed_with_other_initials_goes(shared_corpus):
    text, removed = _clean(shared_corpus, BOOKS + "Defoe_An_Essay_Upon_Projects.txt", 1697)
    assert "was the first volume he published" not in text  # Morley's introduction, signed "H. M."
    assert removed["editor_text"] > 5000
    assert "THE HISTORY OF PROJECTS" in text.upper()


def test_a_modern_edition_title_page_preface_contents_go_and_the_poems_stay(shared_corpus):
    text, removed = _clean(shared_corpus, BOOKS + "Pope_The_Rape_of_the_Lock_and_Other_Poems.txt", 1714)
    assert "THIS EDITION PUBLISHED 1906" not in text and "PROFESSOR OF ENGLISH" not in text
    assert "It has been the aim of the editor" not in text  # the editor's PREFACE, signed T. M. P.
    assert "What dire offence from am'rous causes springs" in text
    assert removed["modern_title_page"] > 0 and removed["contents"] > 0 and removed["editor_text"] > 50_000


def test_a_reprint_societys_pages_and_introduction_go_the_period_ones_stay(shared_corpus):
    rel = "gutenberg-gitenberg-format-variants/pg20535/20535-0.txt"
    text, removed = _clean(shared_corpus, rel, 1731)
    for modern in ("Augustan Reprint Society", "ADVISORY EDITORS", "In an address to the American Society",
                   "University of California"):
        assert modern not in text, modern
    assert "You will pardon the Editor that he does not put Things better in Order" in text  # 1731's own
    assert "Printed for J. ROBERTS" in text  # the book's own imprint
    assert removed["editor_text"] > 10_000 and removed["modern_title_page"] > 0


def test_a_memoir_and_a_theatre_note_signed_and_dated_1921_go(shared_corpus):
    text, removed = _clean(shared_corpus, "gutenberg-gitenberg-format-variants/pg25063/25063.txt", 1728)
    assert "Dead at the age of thirty-one" not in text and "Superficially the task of staging" not in text
    assert "Through all the Employments of Life" in text
    assert removed["editor_text"] > 8000


def test_curly_and_bracket_markers_and_their_notes_go(shared_corpus):
    text, removed = _clean(shared_corpus, BOOKS + "Dickens_Sketches_by_Boz_Illustrative_of_Every_Day_Life_and_Every_Day_People.txt", 1836)
    assert "{122}" not in text and "This paper was written before the practice of exhibiting" not in text
    assert "satisfied that the place must be remarkably full indeed." in text
    text, removed = _clean(shared_corpus, BOOKS + "Dickens_Memoirs_of_Joseph_Grimaldi.txt", 1838)
    assert "Giuseppe Grimaldi was really" not in text and "The first Grimaldi[1]" not in text
    assert removed["footnote"] > 10_000 and removed["footnote_marker"] > 100


def test_contents_go_and_the_first_chapter_stays(shared_corpus):
    text, removed = _clean(shared_corpus, BOOKS + "Dickens_Oliver_Twist.txt", 1838)
    assert "TREATS OF OLIVER TWIST'S GROWTH" not in text.split("Among other public buildings")[0]
    assert "Among other public buildings in a certain town" in text
    assert removed["contents"] > 2000


@pytest.mark.parametrize("rel,year,kept", [
    (BOOKS + "Dickens_Dombey_and_Son.txt", 1848, "PREFACE OF 1848"),  # the author's later preface
    (BOOKS + "Dickens_A_Christmas_Carol.txt", 1843, "I have endeavoured in this Ghostly little book"),
    ("gutenberg-18c-novels-dighums/texts/FrancesBurney__Evelina.txt", 1778, "Oh, Author of my being!"),
    ("gutenberg-18c-novels-dighums/texts/TobiasSmollett__HumphryClinker.txt", 1771, "To the Revd. Mr JONATHAN DUSTWICH"),
    (BOOKS + "Defoe_The_Storm_or_a_Collection_of_the_most_Remarkable_Casualties_and_Disasters_which_Happen_d_in_the_Late_Dre.txt",
     1704, "Preaching of Sermons is Speaking to a few of Mankind"),
])
def test_the_authors_own_prefaces_dedications_and_letters_stay(shared_corpus, rel, year, kept):
    text, removed = _clean(shared_corpus, rel, year)
    assert " ".join(kept.split()) in " ".join(text.split())
    assert removed["editor_text"] == 0


def test_producer_notes_under_any_spelling_go():
    body = ("THE HISTORY OF A TOWN\n\n\n\nTrancribers Notes:\n\n"
            "Obvious printer's errors have been silently corrected in this version of the text.\n\n\n\n"
            "CHAPTER I.\n\nIt was a fine morning in the month of May, and the town was waking.\n\n"
            "[Contributer's note: the spelling of the original is kept]\n\n"
            "The bells of the church rang for the first service of the day.\n")
    text, removed = editorial.strip(body, author="John Smith", year=1760)
    assert "silently corrected" not in text and "Contributer" not in text
    assert "It was a fine morning" in text and "The bells of the church" in text and "CHAPTER I." in text
    assert removed["producer_note"] > 100
    assert contamination.residue(body)["producer_note"] == 2 and not contamination.residue(text)


def test_keep_returns_the_text_but_still_counts():
    body = "PREFACE\n\nA note.\n\n\n\nTranscriber's Note:\n\nFixed typos in this version of the text.\n"
    text, removed = editorial.strip(body, keep=True)
    assert text == body and removed["producer_note"] > 0
