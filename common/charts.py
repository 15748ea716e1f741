"""Small server-side charts: inline SVG built in Python, so pages need no JavaScript library and
templates only print the result.

Every chart is an `<svg role="img">` with a title and a one-line summary for screen readers, axis
titles with their unit, a `<title>` on each bar (the browser shows it on hover), a legend, and a
sentence in place of the bars when there is nothing to show. Pages put the numbers beside it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 52
PAD_RIGHT = 8
PAD_TOP = 12
PAD_BOTTOM = 42


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str  # one of the chart colour classes in portal.css: s-ok, s-info, s-warn, ...
    values: Sequence[int]


def _nice_max(value: int) -> int:
    """A round axis top at or above `value`: four whole gridline steps of 1, 2, 2.5 or 5 times a
    power of ten (so counts never get labels like 7.5)."""
    if value <= 0:
        return 4
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = magnitude * factor
            if step == int(step) and step * 4 >= value:
                return int(step * 4)
        magnitude *= 10


def _grid(top: int, plot_h: float, plot_w: float) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        label = f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w:.1f}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
    return parts


def _x_labels(labels: Sequence[str], slot: float) -> list[str]:
    # At most about 12 labels fit under the bars; show every n-th one.
    every = max(1, -(-len(labels) // 12))
    parts = []
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = PAD_LEFT + slot * i + slot / 2
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 24}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return parts


def _axis_titles(y_label: str, x_label: str, plot_h: float, plot_w: float) -> list[str]:
    y_mid = PAD_TOP + plot_h / 2
    return [
        f'<text class="axis-title" x="12" y="{y_mid:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {y_mid:.1f})">{escape(y_label)}</text>',
        f'<text class="axis-title" x="{PAD_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
    ]


def stacked_bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    x_label: str,
    empty_text: str,
) -> SafeString:
    """One bar per label, stacked by series in the order given (first at the bottom). `y_label`
    names the unit counted, `x_label` what the bars stand for; `empty_text` replaces the bars when
    every value is zero."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(1, len(labels))
    bar_w = max(1.0, slot * 0.75)
    parts = _grid(top, plot_h, plot_w)
    for i, label in enumerate(labels):
        x = PAD_LEFT + slot * i + (slot - bar_w) / 2
        base = PAD_TOP + plot_h
        for s in series:
            value = s.values[i]
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(
                f'<rect class="{escape(s.css_class)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)}: {value} '
                f"{escape(s.name)}</title></rect>"
            )
    parts += _x_labels(labels, slot)
    parts += _axis_titles(y_label, x_label, plot_h, plot_w)
    grand = sum(totals)
    if not grand:
        parts.append(
            f'<text class="empty" x="{PAD_LEFT + plot_w / 2:.1f}" y="{PAD_TOP + plot_h / 2:.1f}" '
            f'text-anchor="middle">{escape(empty_text)}</text>'
        )
        summary = f"{title}: {empty_text}."
    else:
        summary = f"{title}: {grand} {y_label} in total over {len(labels)} days: " + ", ".join(
            f"{s.name} {sum(s.values)}" for s in series
        )
    legend = "".join(
        f'<li><span class="swatch {escape(s.css_class)}" aria-hidden="true"></span>'
        f"{escape(s.name)} ({sum(s.values)})</li>"
        for s in series
    )
    return _figure(title, summary, parts, legend)


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[int],
    css_class: str,
    series_name: str,
    y_label: str,
    x_label: str,
    empty_text: str,
) -> SafeString:
    return stacked_bar_chart(
        title=title,
        labels=labels,
        series=[Series(series_name, css_class, values)],
        y_label=y_label,
        x_label=x_label,
        empty_text=empty_text,
    )


def _figure(title: str, summary: str, parts: list[str], legend: str) -> SafeString:
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{{id}}-t {{id}}-d" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{{id}}-t">{escape(title)}</title>'
        f'<desc id="{{id}}-d">{escape(summary)}</desc>{"".join(parts)}</svg>'
    )
    chart_id = "chart-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())[:40]
    svg = svg.replace("{id}", chart_id)
    return mark_safe(  # noqa: S308 - every label and name above went through escape()
        f'<figure class="chart">{svg}<figcaption><ul class="legend">{legend}</ul>'
        f"</figcaption></figure>"
    )
