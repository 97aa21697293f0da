"""The length filter removes fragments, not brevity: a whole short trial is kept."""
from __future__ import annotations

from pathlib import Path

import pytest

from london_llm.cleaning import filters, oldbailey_tei
from london_llm.cleaning.clean import CleaningOptions, process_item
from london_llm.cleaning.sidecar import read_sidecar, sidecar_path, write_sidecar

S = filters.FilterSettings()
FLOYD = "Bridget Floyd, was indicted for stealing a riding Hood, but was acquitted."


def test_complete_short_records_are_kept_and_fragments_removed():
    assert not filters.too_short(FLOYD, S, "trial")
    assert not filters.too_short("383. SAMUEL VANDOME was indicted for conspiracy. NOT GUILTY.", S, "trial")
    assert filters.too_short("Bridget Floyd, was indicted for stealing a riding Hood, but", S, "trial")  # cut off
    assert filters.too_short("(176). FLORENCE ARTHURS (28). to wilful and corrupt perjury.— And", S, "trial")
    assert filters.too_short("Bridget Floyd, was indicted for stealing a riding Hood.", S, "trial")  # no verdict
    assert filters.too_short("Guilty.", S, "trial")  # one word is not a record
    assert not filters.too_short("Paid the overseer for the poor of the parish of St. Anne.", S, "parish")
    long_cut = "word " * 40  # long enough: length filter has nothing to say even without a full stop
    assert not filters.too_short(long_cut, S, "trial")


def _session(tmp_path: Path, trials: list[str]) -> Path:
    divs = "".join(f'<div1 type="trialAccount" id="t17250115-{i}"><p>{t}</p></div1>' for i, t in enumerate(trials, 1))
    xml = f'<?xml version="1.0"?><TEI.2><text><body><div0 type="sessionsPaper" id="17250115">{divs}</div0></body></text></TEI.2>'
    path = tmp_path / "17250115.xml"
    path.write_text(xml, encoding="utf-8")
    write_sidecar(path, source_id="obo", kind="trial", fmt="oldbailey_tei", year=1725)
    return path


def test_a_session_keeps_its_one_line_trials(tmp_path):
    path = _session(tmp_path, [FLOYD, "Mary Smith, was indicted for stealing a Silver", "Guilty."])
    result = process_item(read_sidecar(sidecar_path(path)), CleaningOptions())
    assert [c.record["text"] for c in result.candidates] == [FLOYD]
    assert result.removed["too_short"]["documents"] == 2


@pytest.mark.corpus
def test_real_short_trials_are_kept_unless_cut(shared_corpus):
    """Every short trial of real sessions that ends a sentence and names a verdict survives."""
    files = sorted((shared_corpus / "old-bailey-obo-xml-7.2/sessionsPapers").glob("18*.xml"))[::10]
    short = kept = 0
    for path in files:
        for raw in oldbailey_tei.parse(path.read_bytes(), {}):
            text = " ".join(raw.text.split())
            if len(text) < S.min_chars or len(text.split()) < S.min_words:
                short += 1
                kept += not filters.too_short(text, S, "trial")
    assert short >= 5, "the sample should hold short trials"
    assert kept / short > 0.8  # old rule: 0 of them
