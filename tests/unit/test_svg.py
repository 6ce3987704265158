"""report/svg.py in-process: charts that are valid SVG, scale to their largest value, draw a
threshold where asked and escape every label."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sdops_dvc.report.svg import hbars, paired_bars, trend


def _rect_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]


def test_paired_bars_scale_to_the_largest_share_and_escape_labels() -> None:
    rows = [
        {"bin": "<5", "real": 0.5, "synthetic": 0.25},
        {"bin": "5+", "real": 0.25, "synthetic": None},
    ]
    svg = paired_bars("Age & more", rows, "bin", "real", "synthetic")
    ET.fromstring(svg)  # well-formed
    heights = _rect_heights(svg)
    assert heights[0] == max(heights) and heights[1] == heights[0] / 2 and heights[3] == 0.0
    assert "Age &amp; more" in svg and "&lt;5" in svg


def test_hbars_draw_the_threshold_and_missing_values() -> None:
    with_line = hbars("Scores", [("a", 0.9), ("b", None)], threshold=0.8)
    without = hbars("Scores", [("a", 0.9), ("b", None)])
    ET.fromstring(with_line)
    assert with_line.count("<line") == without.count("<line") + 1
    assert ">n/a</text>" in with_line and ">0.900</text>" in with_line
    clipped = hbars("Scores", [("over", 1.7), ("under", -0.2)])
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', clipped)]
    assert widths == [520 - 170 - 50, 0.0]  # values outside [lo, hi] are clipped to the axis


def test_a_trend_draws_a_line_through_the_values_and_the_threshold_dashed() -> None:
    one = trend("TSTR", [("v1", 0.8, True)])
    ET.fromstring(one)
    assert "<polyline" not in one  # one point: no line
    many = trend("TSTR", [("v1", 0.8, True), ("v2", None, True), ("v3", 0.7, False)], 0.75)
    ET.fromstring(many)
    assert many.count("<polyline") == 1 and 'stroke-dasharray="3,2"' in many
    assert "threshold 0.75" in many
