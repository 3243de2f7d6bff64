"""The clicks-per-day chart: an SVG drawn on the server by pygal, served at its own endpoint and shown with
<img>. An SVG shown as an image runs no script and loads nothing; its own answer carries a policy that allows
nothing but its inline styles, in case it is opened on its own (pygal writes its styles, and a small config
script, inside the SVG)."""

from __future__ import annotations

import math

import pygal
from flask import Response
from pygal.style import Style

WIDTH, HEIGHT = 800, 320
Y_TICKS = 5
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1f2328", foreground_strong="#1f2328",
              foreground_subtle="#59636e", colors=("#0b5cad",), font_family="system-ui, sans-serif",
              label_font_size=12, major_label_font_size=12, value_font_size=12)


def clicks_per_day(clicks_by_day: list[dict]) -> str:
    """A bar per day (`[{"date": "2026-11-30", "clicks": 3}, ...]`, every day of the window), each day's
    count written on its bar when it is not 0. Windows longer than two weeks label one day a week."""
    counts = [day["clicks"] for day in clicks_by_day]
    chart = pygal.Bar(js=[], style=STYLE, width=WIDTH, height=HEIGHT, show_legend=False, print_values=True,
                      print_zeroes=False, print_values_position="top", x_label_rotation=-45,
                      title="Clicks per day (UTC)", show_minor_x_labels=len(counts) <= 14, x_labels_major_every=7,
                      truncate_label=-1, value_formatter=lambda value: f"{value:.0f}")
    chart.x_labels = [day["date"] for day in clicks_by_day]
    chart.y_labels = whole_ticks(max(counts, default=0))
    chart.add("Clicks", [day["clicks"] for day in clicks_by_day])
    return chart.render(is_unicode=True)


def whole_ticks(highest: int) -> list[int]:
    """About Y_TICKS whole-number marks from 0 to at least `highest` (clicks are counted, never halves)."""
    step = max(1, math.ceil(highest / Y_TICKS))
    return list(range(0, max(highest, 1) + step, step))


def svg_response(svg: str) -> Response:
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Security-Policy": CHART_CSP, "Cache-Control": "no-store"})
