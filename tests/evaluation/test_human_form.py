"""The HTML rating form's JavaScript, run by node against a minimal DOM: what it downloads is a CSV
the importer reads back rating for rating (texts with commas, quotes, newlines and '</script>')."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("form_driver.js")
NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="no JavaScript engine (node) on this machine")

TEXTS = [("ck-a", "The prisoner was", 'indicted, for "stealing" a watch,\nvalue 40 s.'),
         ("ck-b", "In the year 1834", "I walked </script><script>alert(1)</script> to Cheapside"),
         ("ck-a", "Parliament sat", "in Westminster Hall; the Speaker rose")]


def form_script(folder: Path) -> tuple[str, str]:
    html = (folder / "form.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1, "the data must not close the form's <script> early"
    return html, scripts[0]


def run_form(tmp_path: Path, script: str, filled: dict) -> dict:
    (tmp_path / "form.js").write_text(script, encoding="utf-8")
    (tmp_path / "filled.json").write_text(json.dumps(filled), encoding="utf-8")
    r = subprocess.run([NODE, str(DRIVER), str(tmp_path / "form.js"), str(tmp_path / "filled.json")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_form_downloads_ratings_the_importer_reads(tmp_path):
    from london_llm.evaluation import human

    files = human.export(tmp_path / "human", TEXTS, seed=3)
    html, script = form_script(tmp_path / "human")
    key = json.loads(files["key"].read_text())["samples"]
    ids = list(key)
    checked = {}
    for i, sid in enumerate(ids):
        for j, c in enumerate(human.CRITERIA):
            if (i, j) == (2, 2):
                continue  # one left blank
            checked[f"{sid}:{c}"] = 1 + (i + j) % 5
            # the form really has that radio button, so the stub DOM answers what a browser would
            assert f'name="{sid}:{c}" value="{checked[f"{sid}:{c}"]}"' in html
    comments = {f"{ids[0]}:comments": 'odd, but "period"\nin places'}
    saved = run_form(tmp_path, script, {"rater": "Ann Smith", "checked": checked, "comments": comments})
    assert saved["clicked"] and saved["name"] == "ratings_Ann_Smith.csv" and saved["type"] == "text/csv"
    assert saved["status"] == "1 ratings left blank."
    out = tmp_path / "human" / saved["name"]
    out.write_text(saved["csv"], encoding="utf-8")
    rows = {r["sample_id"]: r for r in human.read_ratings(files["key"], [out])}
    assert set(rows) == set(ids)
    for i, sid in enumerate(ids):
        assert rows[sid]["rater"] == "Ann Smith" and rows[sid]["checkpoint"] == key[sid]
        for j, c in enumerate(human.CRITERIA):
            assert rows[sid].get(c) == checked.get(f"{sid}:{c}")
    import csv
    import io

    records = list(csv.DictReader(io.StringIO(saved["csv"])))
    by_id = {r["sample_id"]: r for r in records}
    texts = {t for _c, _p, t in TEXTS}
    assert {r["text"] for r in records} == texts  # commas, quotes, newlines and tags survive the round trip
    assert by_id[ids[0]]["comments"] == 'odd, but "period"\nin places'
    assert list(records[0]) == list(human.COLUMNS)


def test_the_form_asks_for_a_name_first(tmp_path):
    from london_llm.evaluation import human

    human.export(tmp_path / "human", TEXTS, seed=3)
    _html, script = form_script(tmp_path / "human")
    saved = run_form(tmp_path, script, {"rater": "  ", "checked": {}, "comments": {}})
    assert not saved["clicked"] and saved["csv"] is None
    assert saved["status"] == "Please enter your name first."
