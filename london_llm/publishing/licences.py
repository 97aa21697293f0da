"""What the sources' licences allow, read from the licence text each document carries.

Documents record their source's licence as free text (the collector's registry and the
importer write it: "CC BY-NC 4.0 (Old Bailey Online)", "public domain (Project Gutenberg)").
This module maps that text to a Hub licence id, says whether it lets us redistribute the text,
and combines the licences of everything a model was trained on into the card's one licence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional


@dataclass(frozen=True)
class Licence:
    hub_id: str            # the Hub's licence id (https://huggingface.co/docs/hub/repositories-licenses)
    name: str              # for people
    redistributable: bool  # may we publish the text itself (the dataset)?
    non_commercial: bool = False
    share_alike: bool = False


PUBLIC_DOMAIN = Licence("other", "public domain", True)
CC0 = Licence("cc0-1.0", "CC0 1.0", True)
UNKNOWN = Licence("unknown", "unknown licence", False)
# text that forbids what we do; checked before the permissive patterns
_FORBIDDING = re.compile(r"personal use only|not for (re)?distribution|no redistribution|all rights reserved|"
                         r"do not redistribute|proprietary", re.I)
_CC = re.compile(r"\bCC[- ]BY((?:[- ](?:NC|SA|ND))*)[- ]?(\d\.\d)?", re.I)


def classify(text: Optional[str]) -> Licence:
    """The licence a document's free-text `licence` field names (UNKNOWN when it names none)."""
    if not text or not text.strip():
        return UNKNOWN
    if _FORBIDDING.search(text):
        return Licence("other", text.strip(), False)
    match = _CC.search(text)
    if match:
        parts = [p.lower() for p in re.split(r"[- ]", match.group(1)) if p]
        version = match.group(2) or "4.0"
        hub_id = "cc-by-" + "-".join(parts) + f"-{version}" if parts else f"cc-by-{version}"
        name = "CC BY" + "".join(f"-{p.upper()}" for p in parts) + f" {version}"
        return Licence(hub_id, name, "nd" not in parts, "nc" in parts, "sa" in parts)
    if re.search(r"\bCC0\b|creative commons zero", text, re.I):
        return CC0
    if re.search(r"public domain", text, re.I):
        return PUBLIC_DOMAIN
    if re.search(r"\bMIT\b", text):
        return Licence("mit", "MIT", True)
    return UNKNOWN


def combine(licences: Iterable[Licence], what: str = "model") -> tuple[str, str]:
    """(Hub licence id, why) for a work built from texts under all of `licences`.

    Non-commercial terms bind the whole (a model trained on CC BY-NC text is offered under
    CC BY-NC); share-alike terms ask that adaptations keep the same licence; a text we may not
    redistribute, or whose licence is unknown, leaves the licence "other" and says so.
    """
    found = {lic for lic in licences}
    if not found:
        return "unknown", "no licence information was found in the documents"
    unknown = [lic for lic in found if lic.hub_id == "unknown" or not lic.redistributable]
    nc = sorted(lic.name for lic in found if lic.non_commercial)
    sa = sorted(lic.name for lic in found if lic.share_alike)
    if unknown:
        return "other", ("some training texts carry no open licence (" + ", ".join(sorted(l.name for l in unknown))
                         + "); check their terms before any use")
    if nc and sa:
        return "cc-by-nc-sa-4.0", (f"the texts include non-commercial ones ({', '.join(nc)}) and "
                                   f"share-alike ones ({', '.join(sa)}): the {what} is offered non-commercially "
                                   "and under the same terms (CC BY-NC-SA 4.0)")
    if nc:
        return "cc-by-nc-4.0", (f"the texts include some licensed {', '.join(nc)}, which allow "
                                f"non-commercial use only, so the {what} is offered under CC BY-NC 4.0")
    if sa:
        return "cc-by-sa-4.0", (f"the texts include share-alike ones ({', '.join(sa)}), so the {what} "
                                "is offered under the same terms (CC BY-SA 4.0)")
    attribution = sorted(lic.name for lic in found if lic.hub_id.startswith("cc-by"))
    if attribution:
        return "cc-by-4.0", f"the texts include some licensed {', '.join(attribution)} (attribution required)"
    if found <= {CC0}:
        return "cc0-1.0", "every text is CC0"
    return "cc0-1.0", (f"every text is in the public domain or CC0; the {what} is dedicated to the "
                       "public domain as well (CC0 1.0)")


# --- citations the projects ask for --------------------------------------------------------------
# Matched on a document's source, source id or licence text: the projects, not their files.

def _from_london_lives(title: str) -> str:
    """Sharon Howard's databases built on London Lives share one form of citation."""
    return f"Sharon Howard, *{title}*, version 2.0 (2018), based on data from www.londonlives.org."


# (pattern, citation): one table, compiled once below
_CITED = (
    (r"old[ _-]?bailey|\bOBO\b",
     "Tim Hitchcock, Robert Shoemaker, Clive Emsley, Sharon Howard and Jamie McLaughlin, et al., "
     "*The Old Bailey Proceedings Online, 1674-1913* (www.oldbaileyonline.org, version 7.2, March 2015)."),
    (r"london[ _-]?lives|londonlives",
     "Tim Hitchcock, Robert Shoemaker, Sharon Howard and Jamie McLaughlin, et al., *London Lives, "
     "1690-1800* (www.londonlives.org, version 1.1, 24 April 2012)."),
    (r"ordinarys?_?accounts?_txt|Sharon Howard, from Old Bailey",
     "Sharon Howard, *Old Bailey Online Ordinary's Accounts text files* (derived from the Old Bailey "
     "Online XML with the permission of the project directors)."),
    (r"coroners", _from_london_lives("A Catalogue of Westminster Coroners' Inquests 1760-1799")),
    (r"removal|pauper|examination", _from_london_lives("The London Lives Pauper Examinations Database")),
    (r"eebo|text creation partnership", "Early English Books Online Text Creation Partnership (EEBO-TCP), CC0 1.0."),
    (r"standard[ _-]?ebooks", "Standard Ebooks (standardebooks.org), CC0 1.0."),
    (r"gutenberg", "Project Gutenberg (www.gutenberg.org)."),
)
CITATIONS = tuple((re.compile(pattern, re.I), cite) for pattern, cite in _CITED)


def citations_for(*texts: Optional[str]) -> list[str]:
    """Every citation whose project one of `texts` (source, source id, licence) names."""
    joined = " ".join(t for t in texts if t)
    return [cite for pattern, cite in CITATIONS if pattern.search(joined)]
