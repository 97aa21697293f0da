"""Human evaluation: blinded samples out, ratings in, means with confidence intervals and
inter-rater agreement (Krippendorff's alpha, ordinal).

Export writes three files to a folder:
  samples.csv   sample_id, prompt, text, and one empty column per criterion (1-5) + rater, comments
  form.html     the same samples as a self-contained rating form (no network: one file, inline
                script) that downloads the filled ratings as ratings_<rater>.csv
  key.json      sample_id -> checkpoint (keep it from the raters: the samples are shuffled and
                the ids say nothing about the model)
Import reads any number of filled CSVs (rater taken from the rater column, else the file name).
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional

from london_llm.atomic import write_json, write_text
from london_llm.evaluation.errors import EvaluationError
from london_llm.evaluation.stats import mean_stderr, t_interval

CRITERIA = ("period_voice", "coherence", "plausibility")
RUBRIC = {
    "period_voice": "Does it read as English of its period (1500-1913)? 1 = plainly modern, 5 = convincingly of the time",
    "coherence": "Does it hang together as prose? 1 = word salad, 5 = fluent and on topic throughout",
    "plausibility": "Is it historically plausible (no anachronisms, no impossible facts)? 1 = impossible, 5 = entirely plausible",
}
SCALE = (1, 5)
COLUMNS = ("sample_id", "prompt", "text", *CRITERIA, "rater", "comments")


def export(folder: Path, samples: Iterable[tuple[str, str, str]], seed: int) -> dict[str, Path]:
    """samples: (checkpoint name, prompt, generated text). Writes samples.csv, form.html, key.json."""
    import random

    rows = list(samples)
    if not rows:
        raise EvaluationError("no samples to export for human evaluation")
    random.Random(seed).shuffle(rows)
    folder = Path(folder)
    key, out_rows = {}, []
    used: set[str] = set()
    for checkpoint, prompt, text in rows:
        sid = secrets.token_hex(4)
        while sid in used:
            sid = secrets.token_hex(4)
        used.add(sid)
        key[sid] = checkpoint
        out_rows.append({"sample_id": sid, "prompt": prompt, "text": text})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for r in out_rows:
        writer.writerow({**r, **{c: "" for c in CRITERIA}, "rater": "", "comments": ""})
    write_text(folder / "samples.csv", buf.getvalue())
    write_text(folder / "form.html", _form(out_rows))
    write_json(folder / "key.json", {"format_version": 1, "criteria": list(CRITERIA), "scale": list(SCALE),
                                     "samples": key})
    return {"csv": folder / "samples.csv", "form": folder / "form.html", "key": folder / "key.json"}


def _form(rows: list[dict]) -> str:
    items = []
    for i, r in enumerate(rows, 1):
        scales = []
        for c in CRITERIA:
            radios = "".join(f'<label><input type="radio" name="{r["sample_id"]}:{c}" value="{v}"> {v}</label> '
                             for v in range(SCALE[0], SCALE[1] + 1))
            scales.append(f'<div class="crit"><b>{c.replace("_", " ")}</b> {radios}</div>')
        items.append(f'<section data-id="{r["sample_id"]}"><h3>Sample {i} <small>({r["sample_id"]})</small></h3>'
                     f'<p class="prompt">{html.escape(r["prompt"])}</p><p class="text">{html.escape(r["text"])}</p>'
                     + "".join(scales) +
                     f'<textarea name="{r["sample_id"]}:comments" placeholder="comments (optional)"></textarea></section>')
    rubric = "".join(f"<li><b>{c.replace('_', ' ')}</b>: {html.escape(t)}</li>" for c, t in RUBRIC.items())
    # inside <script>, "</" in a generated text would end the script (and run whatever follows):
    # "<\/" is the same string to JavaScript; "<!--" likewise
    data = json.dumps([{"sample_id": r["sample_id"], "prompt": r["prompt"], "text": r["text"]} for r in rows])
    data = data.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>London Historical LLM - rating form</title>
<style>body{{font-family:Georgia,serif;max-width:50em;margin:2em auto;padding:0 1em}}
section{{border-top:1px solid #999;padding:1em 0}}.prompt{{color:#555;font-style:italic}}
.text{{white-space:pre-wrap}}.crit{{margin:.3em 0}}textarea{{width:100%;height:3em}}</style></head>
<body><h1>Rate these passages</h1>
<p>Each passage continues the prompt in italics. The models are hidden. Rate each criterion from
1 to 5:</p><ul>{rubric}</ul>
<p><label>Your name or initials: <input id="rater"></label></p>
{''.join(items)}
<p><button id="save">Download my ratings (CSV)</button> <span id="status"></span></p>
<script>
const SAMPLES = {data};
const CRITERIA = {json.dumps(list(CRITERIA))};
function cell(v) {{ v = String(v); return /[",\\r\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }}
document.getElementById('save').onclick = function () {{
  const rater = document.getElementById('rater').value.trim();
  if (!rater) {{ document.getElementById('status').textContent = 'Please enter your name first.'; return; }}
  const lines = [{json.dumps(",".join(COLUMNS))}];
  let missing = 0;
  for (const s of SAMPLES) {{
    const row = [s.sample_id, s.prompt, s.text];
    for (const c of CRITERIA) {{
      const el = document.querySelector('input[name="' + s.sample_id + ':' + c + '"]:checked');
      if (!el) missing++;
      row.push(el ? el.value : '');
    }}
    row.push(rater, document.querySelector('textarea[name="' + s.sample_id + ':comments"]').value);
    lines.push(row.map(cell).join(','));
  }}
  const blob = new Blob([lines.join('\\n') + '\\n'], {{type: 'text/csv'}});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'ratings_' + rater.replace(/[^A-Za-z0-9_-]/g, '_') + '.csv';
  a.click();
  document.getElementById('status').textContent = missing ? missing + ' ratings left blank.' : 'Saved.';
}};
</script></body></html>
"""


MAX_RATINGS_BYTES = 64 * 1024 * 1024  # the key and each ratings file are read whole; a real one is kilobytes


def _small_enough(path: Path, what: str) -> None:
    try:
        size = Path(path).stat().st_size
    except OSError:
        return  # the read that follows says why it cannot read it
    if size > MAX_RATINGS_BYTES:
        raise EvaluationError(f"{what} {path} is {size:,} bytes, over {MAX_RATINGS_BYTES:,}: not a file --human_export "
                              "wrote; pass the folder holding key.json and the filled ratings CSVs")


def read_ratings(key_file: Path, rating_files: list[Path]) -> list[dict]:
    """Rows of (sample_id, checkpoint, rater, criterion -> int) from filled CSVs."""
    _small_enough(key_file, "the blinding key")
    try:
        key = json.loads(Path(key_file).read_text(encoding="utf-8"))["samples"]
    except (OSError, ValueError, KeyError) as exc:
        raise EvaluationError(f"cannot read the blinding key {key_file} ({exc}): it is key.json beside samples.csv") from None
    rows = []
    for path in rating_files:
        _small_enough(path, "the ratings file")
        try:
            reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")))
            records = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise EvaluationError(f"cannot read ratings {path} ({exc})") from None
        missing = [c for c in ("sample_id", *CRITERIA) if c not in (reader.fieldnames or [])]
        if missing:
            raise EvaluationError(f"{path} lacks the column(s) {', '.join(missing)}: fill in samples.csv or use form.html")
        for line_no, rec in enumerate(records, 2):
            sid = (rec.get("sample_id") or "").strip()
            if sid not in key:
                raise EvaluationError(f"{path} line {line_no}: sample_id {sid!r} is not in {key_file}")
            scores = {}
            for c in CRITERIA:
                value = (rec.get(c) or "").strip()
                if not value:
                    continue
                if not value.isdigit() or not SCALE[0] <= int(value) <= SCALE[1]:
                    raise EvaluationError(f"{path} line {line_no}: {c} = {value!r}; ratings are whole numbers "
                                          f"{SCALE[0]}-{SCALE[1]} (or blank)")
                scores[c] = int(value)
            rater = (rec.get("rater") or "").strip() or Path(path).stem
            rows.append({"sample_id": sid, "checkpoint": key[sid], "rater": rater, **scores})
    if not rows:
        raise EvaluationError("no ratings found in " + ", ".join(map(str, rating_files)))
    return rows


def krippendorff_alpha(rows: list[dict], criterion: str, level: str = "ordinal") -> Optional[float]:
    """Alpha over raters x samples for one criterion; None when fewer than two raters rated a sample."""
    import krippendorff
    import numpy as np

    raters = sorted({r["rater"] for r in rows})
    samples = sorted({r["sample_id"] for r in rows})
    if len(raters) < 2:
        return None
    matrix = np.full((len(raters), len(samples)), np.nan)
    for r in rows:
        if criterion in r:
            matrix[raters.index(r["rater"]), samples.index(r["sample_id"])] = r[criterion]
    pairable = (np.sum(~np.isnan(matrix), axis=0) >= 2).sum()
    if pairable == 0 or len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def summarise(rows: list[dict]) -> dict:
    """Per checkpoint and criterion: mean, stderr, 95% t interval, n; per criterion: alpha."""
    by: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        for c in CRITERIA:
            if c in r:
                by[(r["checkpoint"], c)].append(float(r[c]))
    checkpoints = sorted({r["checkpoint"] for r in rows})
    table = {}
    for ck in checkpoints:
        table[ck] = {}
        for c in CRITERIA:
            values = by.get((ck, c), [])
            mean, se = mean_stderr(values)
            low, high = t_interval(values)
            table[ck][c] = {"mean": mean, "stderr": se, "ci95": [low, high], "n": len(values)}
    alphas = {c: krippendorff_alpha(rows, c) for c in CRITERIA}
    return {"by_checkpoint": table, "alpha": alphas, "raters": sorted({r["rater"] for r in rows}),
            "samples": len({r["sample_id"] for r in rows})}


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x
