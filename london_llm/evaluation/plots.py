"""PNG charts of a results dict: bits per byte by kind and by quarter-century (with the modern
text and the untrained baseline as reference lines), and every metric by training step when
several checkpoints were evaluated."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from london_llm.atomic import atomic_path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _plt().close(fig)
    return path


def bpb_charts(results: dict[str, Any], folder: Path) -> list[Path]:
    plt = _plt()
    out = []
    ck = results["checkpoints"][-1]
    bpb = ck["tasks"].get("bpb")
    if not bpb or "by_kind" not in bpb.get("details", {}):
        return out
    modern = bpb["metrics"].get("bpb_modern", {}).get("value")
    for key, title, fname in (("by_kind", "kind of document", "bpb_by_kind.png"),
                              ("by_quarter_century", "quarter-century", "bpb_by_quarter_century.png")):
        groups = bpb["details"][key]
        names = list(groups)
        values = [groups[n]["bpb"] for n in names]
        errors = [groups[n]["stderr"] or 0 for n in names]
        fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(names) + 2), 3.6))
        ax.bar(range(len(names)), values, yerr=errors, color="#5b7aa5", capsize=3, label=ck["name"])
        untrained = [groups[n].get("untrained") for n in names]
        if all(u is not None for u in untrained):
            ax.plot(range(len(names)), untrained, "x", color="#a33", label="untrained baseline")
        if modern is not None:
            ax.axhline(modern, color="#c80", linestyle="--", label="modern English")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
        ax.set_ylabel("bits per byte (lower is better)")
        ax.set_title(f"Held-out bits per byte by {title} - {ck['name']}")
        ax.legend(fontsize=8)
        out.append(_save(fig, Path(folder) / fname))
    return out


def step_charts(results: dict[str, Any], folder: Path) -> list[Path]:
    """One small panel per metric, against training step (only with two or more stepped checkpoints)."""
    plt = _plt()
    cks = [c for c in results["checkpoints"] if c.get("step") is not None]
    if len(cks) < 2:
        return []
    series: dict[str, list[tuple[int, float, float]]] = {}
    for c in cks:
        for task, entry in c["tasks"].items():
            for name, m in entry["metrics"].items():
                if m["value"] is not None:
                    series.setdefault(f"{task}/{name}", []).append((c["step"], m["value"], m["stderr"] or 0))
    names = sorted(series)
    if not names:
        return []
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        pts = sorted(series[name])
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", ms=3)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return [_save(fig, Path(folder) / "metrics_by_step.png")]
