"""Licence texts to Hub ids, what may be redistributed, the combined licence, citations."""
from __future__ import annotations

import pytest

from london_llm.publishing import licences


# --- licences ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, hub_id, redistributable", [
    ("CC BY-NC 4.0 (Old Bailey Online)", "cc-by-nc-4.0", True),
    ("CC BY-SA 4.0 (Sharon Howard, data from www.londonlives.org)", "cc-by-sa-4.0", True),
    ("CC0 1.0 (EEBO-TCP)", "cc0-1.0", True),
    ("public domain in the USA (Project Gutenberg); strip the PG licence text", "other", True),
    ("licensed for personal use only", "other", False),
    ("CC BY-ND 4.0", "cc-by-nd-4.0", False),
    ("as the files say", "unknown", False),
    (None, "unknown", False),
])
def test_licence_text_is_classified(text, hub_id, redistributable):
    lic = licences.classify(text)
    assert (lic.hub_id, lic.redistributable) == (hub_id, redistributable)


def test_a_non_commercial_source_makes_the_whole_non_commercial_and_says_why():
    pd = licences.classify("public domain (Project Gutenberg)")
    nc = licences.classify("CC BY-NC 4.0 (Old Bailey Online)")
    sa = licences.classify("CC BY-SA 4.0")
    hub_id, why = licences.combine([pd, nc])
    assert hub_id == "cc-by-nc-4.0" and "non-commercial" in why and "CC BY-NC 4.0" in why
    assert licences.combine([pd, nc, sa])[0] == "cc-by-nc-sa-4.0"
    assert licences.combine([pd, sa])[0] == "cc-by-sa-4.0"
    assert licences.combine([pd, licences.CC0])[0] == "cc0-1.0"
    assert licences.combine([pd, licences.UNKNOWN])[0] == "other"


def test_citations_the_projects_ask_for():
    obo = licences.citations_for("old_bailey_sessions", "CC BY-NC 4.0 (Old Bailey Online)")
    assert any("Old Bailey Proceedings Online, 1674-1913" in c and "Hitchcock" in c for c in obo)
    lives = licences.citations_for("london_lives_coroners_inquests", "CC BY-SA 4.0 (Sharon Howard, data from "
                                   "www.londonlives.org)")
    assert any("London Lives, 1690-1800" in c for c in lives)
    assert any("Coroners' Inquests" in c for c in lives)
    assert licences.citations_for("something_else", "CC0 1.0") == []


def test_the_london_lives_databases_are_cited_in_their_one_form_whatever_the_case():
    assert licences.citations_for("LONDONLIVES_PAUPER_EXAMINATIONS") == [
        "Tim Hitchcock, Robert Shoemaker, Sharon Howard and Jamie McLaughlin, et al., *London Lives, 1690-1800* "
        "(www.londonlives.org, version 1.1, 24 April 2012).",
        "Sharon Howard, *The London Lives Pauper Examinations Database*, version 2.0 (2018), based on data from "
        "www.londonlives.org."]
    assert licences.citations_for("Coroners") == [
        "Sharon Howard, *A Catalogue of Westminster Coroners' Inquests 1760-1799*, version 2.0 (2018), based on "
        "data from www.londonlives.org."]
