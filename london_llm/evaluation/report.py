"""report.md: the headline numbers of a results dict beside their baselines, for a person."""
from __future__ import annotations

from typing import Any, Optional

from london_llm.atomic import write_text

BASELINES = ("chance", "unigram", "untrained")
TASK_TITLES = {"bpb": "Bits per byte (held-out period text vs modern English)",
               "history": "London history 1500-1913 (multiple choice)",
               "cutoff": "Knowledge-cutoff probe (before 1914 vs after 1913)",
               "vocabulary": "Period vocabulary (period vs modern word in the same sentence)",
               "questions": "Your questions (--questions)", "mmlu": "MMLU (your files)",
               "hellaswag": "HellaSwag validation (your file)",
               "conditioning": "Conditioning tags (own vs wrong vs none)",
               "anachronism": "Anachronisms in generated text (per 1,000 words)",
               "rouge": "ROUGE of greedy continuations of held-out passages"}


def fmt(m: Optional[dict], digits: int = 3) -> str:
    if not m or m.get("value") is None:
        return "-"
    text = f"{m['value']:.{digits}f}"
    if m.get("stderr") is not None:
        text += f" ± {m['stderr']:.{digits}f}"
    return text


def headline(results: dict[str, Any]) -> list[str]:
    """A few lines for a terminal summary (run.sh prints them after training)."""
    lines = []
    for ck in results["checkpoints"]:
        t = ck["tasks"]
        parts = []
        if "bpb" in t:
            m = t["bpb"]["metrics"]
            if "bpb_heldout" in m:
                parts.append(f"held-out {fmt(m['bpb_heldout'])} bpb")
            parts.append(f"modern {fmt(m['bpb_modern'])} bpb")
        if "history" in t:
            parts.append(f"history acc {fmt(t['history']['metrics'].get('acc'))}")
        if "cutoff" in t and "gap" in t["cutoff"]["metrics"]:
            parts.append(f"cutoff gap {fmt(t['cutoff']['metrics']['gap'])}")
        if "vocabulary" in t:
            parts.append(f"period vocabulary {fmt(t['vocabulary']['metrics'].get('acc'))}")
        if "anachronism" in t:
            parts.append(f"anachronisms {fmt(t['anachronism']['metrics'].get('per_1000_words'), 2)}/1k words")
        lines.append(f"{ck['name']}: " + "; ".join(parts))
    return lines


def render(results: dict[str, Any], charts: list[str]) -> str:
    out = ["# Evaluation report", ""]
    libs = results["libraries"]
    out.append(f"Mode **{results['mode']}**, seed {results['seed']}, {len(results['checkpoints'])} checkpoint(s), "
               f"{results['wall_seconds']:.0f} s on {results['machine'].get('cpu') or 'unknown CPU'} "
               f"({results['machine'].get('cores')} cores, device {results['device']}); lm-eval {libs.get('lm_eval')}, "
               f"torch {libs.get('torch')}, transformers {libs.get('transformers')}.")
    out += ["", "Command: `" + " ".join(results["command"]) + "`", ""]
    out += ["Every metric with its standard error; baselines: **chance** (uniform guessing), **unigram** (training-"
            "token frequencies, no context), **untrained** (same shape, random weights). Full numbers: results.json.",
            ""]
    for ck in results["checkpoints"]:
        out.append(f"## {ck['name']} (step {ck['step']})")
        out.append("")
        out.append(f"`{ck['path']}`, model.safetensors sha256 `{(ck.get('sha256') or '-')[:16]}`")
        for note in ck.get("notes", []):
            out.append(f"\n> {note}")
        out.append("")
        for task, entry in ck["tasks"].items():
            if not entry["metrics"]:
                continue
            out.append(f"### {TASK_TITLES.get(task, task)}")
            out.append("")
            out.append("| metric | model | " + " | ".join(BASELINES) + " | n |")
            out.append("|---|---|" + "---|" * len(BASELINES) + "---|")
            for name, m in entry["metrics"].items():
                base = [fmt((entry.get("baselines") or {}).get(b, {}).get(name)) for b in BASELINES]
                arrow = "↑" if m.get("higher_is_better", True) else "↓"
                ci = f" (95% CI {m['ci95'][0]:.2f}-{m['ci95'][1]:.2f})" if m.get("ci95") and None not in m["ci95"] else ""
                out.append(f"| {name} {arrow} | {fmt(m)}{ci} | " + " | ".join(base) + f" | {m.get('n') or '-'} |")
            out.append("")
            out += _details(task, entry.get("details") or {})
    if charts:
        out.append("## Charts")
        out.append("")
        out += [f"![{c}]({c})" for c in charts]
        out.append("")
    return "\n".join(out) + "\n"


def _details(task: str, d: dict) -> list[str]:
    out = []
    if task == "bpb" and "by_kind" in d:
        for key, title in (("by_kind", "kind"), ("by_quarter_century", "quarter-century")):
            out.append(f"By {title}: " + ", ".join(f"{g} {v['bpb']:.3f} (n={v['n']})" for g, v in d[key].items()))
            out.append("")
    if task == "conditioning" and d.get("by_kind"):
        out.append("| kind | own tags | wrong tags | no tags | gain vs none | helps |")
        out.append("|---|---|---|---|---|---|")
        for kind, v in d["by_kind"].items():
            out.append(f"| {kind} | {v['bpb_own']:.3f} | {v['bpb_wrong']:.3f} | {v['bpb_none']:.3f} | "
                       f"{v['gain_vs_none']:+.3f} | {'yes' if v['helps'] else 'no'} |")
        out.append("")
    if task == "anachronism":
        found = d.get("words_found") or []

        def word(w):  # a "sense" entry is only a possible anachronism (see lexicon.Hit.definite)
            sense = ", a later sense" if w.get("kind") == "sense" else ""
            return f"{w['term']} ({w['year']}{sense}) x{w['count']}"

        out.append("Words found: " + (", ".join(word(w) for w in found[:30]) or "none")
                   + f" - in {d.get('words', 0)} words of {d.get('samples', 0)} samples.")
        out.append("")
    if task == "mmlu" and d.get("by_category"):
        for key, title in (("by_category", "category"), ("by_subject", "subject")):
            out.append(f"| {title} | acc | n |")
            out.append("|---|---|---|")
            for name, v in d[key].items():
                out.append(f"| {name} | {fmt({'value': v['acc'], 'stderr': v['stderr']})} | {v['n']} |")
            out.append("")
        whole = d.get("overall_as_harness_group")
        if whole:
            out += [f"Overall as the harness's mmlu group: {fmt({'value': whole['acc'], 'stderr': whole['stderr']})} "
                    f"(n={whole['n']}; {d.get('aggregation', '')}).", ""]
    if task == "cutoff" and d.get("reading"):
        out += [d["reading"], ""]
    return out


def write_report(path, results: dict[str, Any], charts: list[str]) -> None:
    write_text(path, render(results, charts))
