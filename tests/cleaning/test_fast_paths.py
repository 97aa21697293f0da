"""The cleaning's fast paths give exactly what the plain definitions they replace gave, on real
texts and on the edge cases each shortcut's argument rests on (re.I's foldings, whitespace kinds)."""
from __future__ import annotations

import re
import sys
from collections import Counter

import pytest

from london_llm.cleaning import contamination, filters, normalise, oldbailey_tei
from london_llm.cleaning.clean import _residue_triggers
from london_llm.cleaning.normalise import tidy_whitespace

EDGES = [
    "", "Guilty.", "unguilty man", "x guilty", "ÀÉÎ façade naïve ÿ÷ Ω café", "Στο ΣΑΣ", "İstanbul GUILTY",
    "he produced a knife", "  Produced by Jane Doe", "\tPRODUCED BY the team", "\x1c produced by x",
    "This file was made from scans", "this e-text was prepared", "THIS FILE IS PRODUCED",
    "tranſcriber's note", "TRANSCRİBER'S NOTE", "ınternet archive", "see www.example.org now",
    "mail me@host.co.uk", "http://x.y", "Project\tGutenberg", "public\tdomain dedication",
    "public domain in the USA", "cc\u00a0by", "CC-BY 4.0", "all rights\u2028reserved", "World Library,  Inc",
    "Digitised by Google", "scanned and proofed by", "[Illustration: a cat]", "the HTML version",
    "terms of use", "a\u00a0b  c\n\n\n d\t", "e-books and etexts", "Kelvin\u212a .com", "naïve—café ſhip Œuvre “the” ü",
    "ÀÉÎ FAÇADE NAÏVE × µ ß ÞORN ÿ £5 THE ET",  # Latin-1 only: filters lower-case it by table
]


def _real_texts(shared_corpus) -> list[str]:
    sessions = sorted((shared_corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml"))
    texts = [d.text for f in sessions[::40] for d in oldbailey_tei.parse(f.read_bytes(), {})]
    books = sorted(shared_corpus.glob("gutenberg-*/**/*.txt"), key=lambda f: f.stat().st_size)
    texts += [f.read_bytes().decode("utf-8", "replace") for f in books[:3] + books[len(books) // 2:][:1]]
    return texts + EDGES + ["\n".join(EDGES), " \n ".join(EDGES)]


def _reference_measure(text: str) -> filters.TextStats:
    """filters.measure as it was defined before the fast tokeniser: regex tokens and a Counter."""
    sample = filters._sample(text)
    tokens = filters._TOKEN.findall(sample.lower())
    nonspace = len(sample) - sample.count(" ") - sample.count("\n")
    n = len(tokens) or 1
    counts = Counter(tokens)
    short = len(text) <= filters._SHORT_CHARS
    return filters.TextStats(chars=len(text), words=len(text.split()),
                             english=sum(counts[w] for w in filters._FUNCTION_WORDS) / n,
                             foreign=sum(counts[w] for w in filters._FOREIGN_WORDS) / n,
                             wordiness=len("".join(tokens)) / nonspace if nonspace > 0 else 0.0,
                             ends_sentence=bool(filters._SENTENCE_END.search(text[-40:])) if short else True,
                             verdict=bool(filters._VERDICT.search(text)) if short else True)


def test_measure_equals_its_plain_definition(shared_corpus):
    for text in _real_texts(shared_corpus):
        assert filters.measure(text) == _reference_measure(text), text[:80]
        tidied = tidy_whitespace(text)  # as clean_document measures it: words counted without split()
        assert filters.measure(tidied, tidy=True) == _reference_measure(tidied), tidied[:80]


def test_the_lower_casing_table_is_str_lower_on_latin1():
    for b in range(256):
        assert filters._LOWERED_LETTER_BYTES[b] == filters._LETTER_BYTES[ord(chr(b).lower())]


def test_the_literal_gate_never_hides_a_match(shared_corpus, monkeypatch):
    """_may_match says False only for lines the full patterns do not match; strip, find and residue
    give what they give with every suspect line sent to the regex."""
    texts = _real_texts(shared_corpus)
    for text in texts:
        for line in text.split("\n"):
            if not contamination._may_match(line):
                assert contamination._ANY.search(line) is None, line[:80]
    fast = [(contamination.strip(t), contamination.residue(t), bool(contamination.find(t))) for t in texts]
    monkeypatch.setattr(contamination, "_may_match", lambda line: True)
    plain = [(contamination.strip(t), contamination.residue(t), bool(contamination.find(t))) for t in texts]
    assert fast == plain


@pytest.mark.parametrize("unwrapped", [False, True])
def test_residue_with_fewer_triggers_equals_the_full_scan(shared_corpus, unwrapped):
    """As clean.process_item runs them: strip, then re-spacing; residue scanning only the triggers
    _residue_triggers names finds what the full scan finds."""
    for text in _real_texts(shared_corpus):
        suspects = contamination.suspect_lines(text)
        stripped, removed = contamination.strip(text, suspects)
        cleaned = tidy_whitespace(stripped)
        triggers = _residue_triggers(cleaned, stripped, bool(suspects), bool(removed), unwrapped)
        assert contamination.residue(cleaned, triggers) == contamination.residue(cleaned), text[:80]


def test_the_odd_whitespace_lists_are_all_of_unicodes():
    odd = {chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()} - {" ", "\n"}
    assert odd == set(normalise.ODD_ASCII_SPACE) | set(normalise.ODD_OTHER_SPACE)


def test_tidy_whitespace_equals_its_per_line_definition(shared_corpus):
    def reference(text: str) -> str:
        text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", text).strip()
    texts = _real_texts(shared_corpus)
    texts += [reference(t) for t in texts] + ["a\u00a0b", "a\u3000b", "a\x85b", "a\x1cb", "a\n\nb", "é\u2009x"]
    for text in texts:
        assert tidy_whitespace(text) == reference(text), text[:80]


_TEI_EDGES = [  # markup the C text gather and itertext might part on
    b"<div1 type='trialAccount' id='t17500117-1'><p>A <![CDATA[cdata & <raw>]]> b<?pi text?> after the pi<!-- a comment --> and the comment"
    b"<persName>John <hi>Smith</hi></persName> , tail<p>nested <b>p</b></p> end</p></div1>",
    b"<div1 id='t1'><p>no <interp type='x' value='y'/>interp<note>[See summary.]</note> ( spaced ) [ x ]</p>"
    b"<p>   </p><p>\xc2\xa0\xe2\x80\x83odd\tspace\r\nhere</p></div1>",
    b"<!DOCTYPE div1 [<!ENTITY pound '\xc2\xa3'>]><div1 id='t2'><p>ten &pound; and &amp; <i>more</i></p></div1>",
    b"<div1 id='t3'>text with no paragraph <hi>at all</hi> [See original.] tail</div1>",
]


def test_the_c_text_gather_equals_itertext(shared_corpus, monkeypatch):
    """oldbailey_tei takes each paragraph's text from libxml2 in one call, in place of itertext, where
    the tree has no entity references; the parse is the same as with itertext throughout."""
    sessions = sorted((shared_corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml"))[::10]
    inputs = [f.read_bytes() for f in sessions] + _TEI_EDGES
    fast = [oldbailey_tei.parse(data, {}) for data in inputs]
    parser = oldbailey_tei.etree.XMLParser(resolve_entities=False, huge_tree=True)  # comments kept
    for data in inputs:
        for p in oldbailey_tei.etree.fromstring(data, parser).iter("p", "div1"):
            if next(p.iter(oldbailey_tei.etree.Entity), None) is None:
                assert oldbailey_tei._c_text(p) == oldbailey_tei._itertext(p)
    monkeypatch.setattr(oldbailey_tei, "_c_text", oldbailey_tei._itertext)
    assert fast == [oldbailey_tei.parse(data, {}) for data in inputs]
    assert "ten &pound; and &" in fast[-2][0].text  # the entity's tree took the itertext road


def test_the_numpy_space_collapse_equals_split_and_join():
    """normalise._collapse_spaces (numpy above _NUMPY_COLLAPSE bytes) against b" ".join(data.split())
    on both sides of the threshold: leading, trailing and long runs of spaces, none, only spaces."""
    n = normalise._NUMPY_COLLAPSE
    for data in (b"", b" ", b"a", b" a ", b"x" * (n + 5), b" " * (n + 5), b"ab  c " * n, b"   lead" + b"q" * n,
                 b"q" * n + b"trail    ", b"a b" * n, b" " + b"w  " * (n // 3) + b" "):
        for piece in (data, data[:n - 1], data[:n], data[:n + 1]):
            assert normalise._collapse_spaces(piece) == b" ".join(piece.split()), piece[:20]
