"""PNG plots of a training run's metrics log: losses, learning rate, throughput and MFU, step time.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display, no global state), so it
works on headless machines and inside a running process alike.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from london_llm.atomic import atomic_path
from london_llm.training.metrics import MetricsLog

PLOTS = ("loss", "learning_rate", "throughput", "step_time")
_TRAIN, _VAL, _EVAL_TRAIN, _EXTRA = "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"


def smooth(values: list[float], weight: Optional[float] = None) -> list[float]:
    """Exponential moving average (as TensorBoard's slider), debiased so the start is not pulled to 0.

    Per-step training loss is noisy; the smoothed line shows the trend, the raw one stays faint.
    """
    if not values:
        return []
    if weight is None:  # about 1/20th of the run, between none and 0.95
        weight = min(0.95, max(0.0, 1 - 20 / max(len(values), 1)))
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** i) if weight < 1 else v)
    return out


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} logged yet", ha="center", va="center", transform=ax.transAxes,
            color="gray")


def _draw_loss(ax, log: MetricsLog) -> None:
    steps, loss = log.series("train/loss")
    vsteps, vloss = log.series("eval/val_loss")
    tsteps, tloss = log.series("eval/train_loss")
    if not (steps or vsteps):
        _no_data(ax, "loss")
    if steps:
        ax.plot(steps, loss, color=_TRAIN, alpha=0.25, linewidth=0.8)
        ax.plot(steps, smooth(loss), color=_TRAIN, linewidth=1.6, label="train loss (smoothed)")
    if tsteps:
        ax.plot(tsteps, tloss, "s--", color=_EVAL_TRAIN, markersize=4, linewidth=1,
                label="train loss (eval batches)")
    if vsteps:
        ax.plot(vsteps, vloss, "o-", color=_VAL, markersize=4, linewidth=1.4, label="validation loss")
        best = min(range(len(vloss)), key=vloss.__getitem__)
        late = best > 0 and vsteps[best] > 0.7 * vsteps[-1]  # keep the label inside the axes
        ax.annotate(f"best {vloss[best]:.3f} @ {vsteps[best]:,}", (vsteps[best], vloss[best]),
                    textcoords="offset points", xytext=(0, 10), ha="right" if late else "center",
                    fontsize=8, color=_VAL)
    ax.set_title("Loss (cross-entropy)")
    ax.set_ylabel("loss")
    if steps or vsteps:
        ax.legend(loc="upper right", fontsize=8)


def _draw_lr(ax, log: MetricsLog) -> None:
    steps, lr = log.series("train/lr")
    if steps:
        ax.plot(steps, lr, color=_TRAIN, linewidth=1.6)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    else:
        _no_data(ax, "learning rate")
    ax.set_title("Learning rate")
    ax.set_ylabel("lr")


def _draw_throughput(ax, log: MetricsLog) -> None:
    steps, tps = log.series("train/tokens_per_sec")
    msteps, mfu = log.series("train/mfu")
    mfu = [100 * m for m in mfu]  # logged as a fraction of the device's peak
    if steps:
        ax.plot(steps, tps, color=_TRAIN, alpha=0.3, linewidth=0.8)
        ax.plot(steps, smooth(tps), color=_TRAIN, linewidth=1.6, label="tokens/s (smoothed)")
        ax.set_ylabel("tokens / s", color=_TRAIN)
    if msteps:
        twin = ax.twinx()
        # MFU is tokens/s over a constant, so on axes from 0 the two curves coincide: dash this one
        # so the tokens/s line shows through it.
        twin.plot(msteps, smooth(mfu), color=_EXTRA, linewidth=1.4, linestyle=(0, (4, 3)), label="MFU (smoothed)")
        twin.set_ylabel("MFU %", color=_EXTRA)
        twin.set_ylim(bottom=0)
    if not (steps or msteps):
        _no_data(ax, "throughput")
    ax.set_title("Throughput" + ("" if msteps else " (MFU unknown for this device)"))
    if steps:
        ax.set_ylim(bottom=0)


def _draw_step_time(ax, log: MetricsLog) -> None:
    steps, dt = log.series("train/dt_ms")
    if steps:
        ax.plot(steps, dt, color=_TRAIN, alpha=0.3, linewidth=0.8)
        ax.plot(steps, smooth(dt), color=_TRAIN, linewidth=1.6)
        ax.set_ylim(bottom=0)
    else:
        _no_data(ax, "step time")
    ax.set_title("Time per optimizer step")
    ax.set_ylabel("ms")


_DRAW = {"loss": _draw_loss, "learning_rate": _draw_lr, "throughput": _draw_throughput,
         "step_time": _draw_step_time}


def _decorate(ax, log: MetricsLog) -> None:
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)
    for start in log.segment_starts[1:]:  # where the run was resumed
        ax.axvline(log.records[start]["step"], color="gray", linestyle=":", linewidth=1)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return path


def render_plots(log: MetricsLog, out_dir: Path | str, title: str = "training run") -> list[Path]:
    """Write one PNG per panel plus `training_overview.png` (all four); return their paths."""
    out_dir = Path(out_dir)
    written = []
    for name in PLOTS:
        fig = Figure(figsize=(8, 4.5))
        ax = fig.add_subplot()
        _DRAW[name](ax, log)
        _decorate(ax, log)
        fig.suptitle(title, fontsize=10, color="dimgray")
        written.append(_save(fig, out_dir / f"{name}.png"))
    fig = Figure(figsize=(14, 9))
    for i, name in enumerate(PLOTS, start=1):
        ax = fig.add_subplot(2, 2, i)
        _DRAW[name](ax, log)
        _decorate(ax, log)
    fig.suptitle(title)
    fig.tight_layout()
    written.append(_save(fig, out_dir / "training_overview.png"))
    return written
