"""london_llm.training.plots: PNG plots of a metrics log."""
from __future__ import annotations

import pytest

from london_llm.training import metrics
from london_llm.training.plots import PLOTS, render_plots, smooth
from run_records import T0, _eval, records, write_log


def test_smoothing_follows_the_trend_without_pulling_the_start_to_zero():
    assert smooth([5.0, 5.0, 5.0], 0.9) == pytest.approx([5.0, 5.0, 5.0])
    noisy = [3 + (0.5 if i % 2 else -0.5) for i in range(200)]
    assert max(abs(v - 3) for v in smooth(noisy)[50:]) < 0.1


def test_render_plots_writes_one_png_per_panel_and_an_overview(tmp_path):
    from matplotlib.image import imread

    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", records(1, 130) + records(101, 200, T0 + 999)))
    written = render_plots(log, tmp_path / "plots", "unit test")
    assert [p.name for p in written] == [f"{n}.png" for n in PLOTS] + ["training_overview.png"]
    for png in written:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = imread(png).shape
        assert width > 600 and height > 300
    assert not list((tmp_path / "plots").glob(".*.tmp")), "no temporary files left"


def test_render_plots_copes_with_a_log_that_has_only_evaluations(tmp_path):
    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", [_eval(50, T0)]))
    assert len(render_plots(log, tmp_path / "plots")) == len(PLOTS) + 1
