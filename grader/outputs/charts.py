"""Small inline SVG charts for the reports: no scripts, no network, they print and scale."""

from __future__ import annotations

from markupsafe import Markup, escape

INK, PASS, FAIL, MUTED, LINE = "#1b1b1b", "#1f7a35", "#b3261e", "#8a8a8a", "#1c4e9c"
WARN, BASELINE = "#a15c00", "#6a3d9a"  # reaches the threshold yet no better than the majority class; that baseline's tick
STANDING_COLOURS = {"above": PASS, "baseline": WARN, "below": FAIL}


def standing(reaches: bool, value: float, baseline: float | None) -> str:
    """A metric's standing: below its threshold, at (or under) the majority-class baseline though
    it reaches the threshold (a constant answer scores that much: not green), or above both."""
    if not reaches:
        return "below"
    return "baseline" if baseline is not None and value <= baseline + 1e-9 else "above"


def legend(entries: list[tuple[str, str, str]]) -> Markup:
    """An HTML legend under a chart (it reflows on a phone; text inside an SVG would shrink).
    Each entry is (kind, colour, text), kind one of bar, tick, dashed."""
    items = []
    for kind, colour, text in entries:
        if kind == "bar":
            mark = f'<svg width="14" height="10" aria-hidden="true"><rect width="14" height="10" fill="{colour}"/></svg>'
        else:
            dash = ' stroke-dasharray="3 2"' if kind == "dashed" else ""
            line = f'<line x1="4" y1="0" x2="4" y2="14" stroke="{colour}" stroke-width="3"{dash}/>'
            mark = f'<svg width="8" height="14" aria-hidden="true">{line}</svg>'
        items.append(f"<li>{mark} {escape(text)}</li>")
    return Markup(f'<ul class="legend">{"".join(items)}</ul>')


def metric_legend() -> Markup:
    return legend(
        [
            ("bar", PASS, "reaches the threshold, above the majority baseline"),
            ("bar", WARN, "reaches the threshold, no better than the majority baseline"),
            ("bar", FAIL, "below the threshold"),
            ("tick", INK, "threshold"),
            ("dashed", BASELINE, "majority-class baseline"),
        ]
    )


def _svg(width: int, height: int, body: str, title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{body}</svg>'
    )


LABEL_FONT_PX = 12
LABEL_CHAR_PX = 7.6  # a generous average advance of a 12 px sans-serif character, wide letters and digits included
LABEL_CHARS = 48  # a longer label (a roster's long name) is cut with an ellipsis; its row in the table has it whole


def short(label: str) -> str:
    label = str(label)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def label_width_for(labels: list[str], least: int = 170) -> int:
    """Room for the longest label left of the bars, so that no label runs off the chart's left edge."""
    return max([least] + [int(len(short(label)) * LABEL_CHAR_PX) + 12 for label in labels])


def hbars(rows: list[tuple], maximum: float, title: str, label_width: int | None = None, value_format: str = "{:.4f}") -> Markup:
    """Horizontal bars on 0..maximum. Each row is (label, value, colour[, threshold[, baseline]]):
    a threshold is drawn as a dark tick across its bar, a baseline as a dashed purple one. The
    label column is as wide as the longest label needs; the chart grows wider with it."""
    label_width = label_width or label_width_for([row[0] for row in rows])
    width, row_h, top = label_width + 470, 26, 6
    plot = width - label_width - 70
    height = top + row_h * len(rows) + 6
    scale = (lambda v: label_width + plot * max(0.0, min(v, maximum)) / maximum) if maximum > 0 else (lambda v: label_width)
    parts = [f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - 4}" stroke="{MUTED}"/>']
    for i, (label, value, colour, *marks) in enumerate(rows):
        y = top + i * row_h
        threshold, baseline = (list(marks) + [None, None])[:2]
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 17}" text-anchor="end" font-size="{LABEL_FONT_PX}" fill="{INK}">'
            f"{escape(short(label))}</text>"
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 5}" width="{scale(value) - label_width:.1f}" height="{row_h - 10}" fill="{colour}"/>'
        )
        right = max([scale(value)] + [scale(m) for m in (threshold, baseline) if m is not None])
        parts.append(f'<text x="{right + 5:.1f}" y="{y + 17}" font-size="11" fill="{INK}">{escape(value_format.format(value))}</text>')
        if baseline is not None:
            x = scale(baseline)
            parts.append(
                f'<line class="baseline" x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + row_h - 1}" stroke="{BASELINE}" '
                'stroke-width="2.5" stroke-dasharray="3 2"/>'
            )
        if threshold is not None:
            x = scale(threshold)
            parts.append(
                f'<line class="threshold" x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + row_h - 1}" stroke="{INK}" stroke-width="3"/>'
            )
    return _svg(width, height, "".join(parts), title)


def columns(bins: list[tuple[str, int]], title: str) -> Markup:
    """A histogram: one column per (label, count)."""
    width, height, bottom, left = 640, 200, 30, 30
    peak = max([count for _, count in bins] + [1])
    step = (width - left - 10) / max(len(bins), 1)
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{MUTED}"/>']
    for i, (label, count) in enumerate(bins):
        h = (height - bottom - 20) * count / peak
        x = left + i * step
        parts.append(f'<rect x="{x + 3:.1f}" y="{height - bottom - h:.1f}" width="{step - 6:.1f}" height="{h:.1f}" fill="{LINE}"/>')
        if count:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle" font-size="11" '
                f'fill="{INK}">{count}</text>'
            )
        parts.append(
            f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def line(points: list[tuple[float, float]], title: str, x_label: str = "step", y_label: str = "loss") -> Markup:
    """A line chart of (x, y) points with the y range printed at the axis."""
    width, height, left, bottom, top = 640, 220, 56, 30, 12
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def sx(x):
        return left + (width - left - 12) * ((x - x0) / (x1 - x0) if x1 > x0 else 0.5)

    def sy(y):
        return top + (height - top - bottom) * (1 - ((y - y0) / (y1 - y0) if y1 > y0 else 0.5))

    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    parts = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 12}" y2="{height - bottom}" stroke="{MUTED}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="{MUTED}"/>',
        f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="11" fill="{INK}">{y1:.3g}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="11" fill="{INK}">{y0:.3g}</text>',
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="{INK}">{escape(x_label)} {x0:g}</text>',
        f'<text x="{width - 12}" y="{height - 8}" text-anchor="end" font-size="11" fill="{INK}">{escape(x_label)} {x1:g}</text>',
        f'<text x="12" y="{(height - bottom) / 2}" font-size="11" fill="{INK}" transform="rotate(-90 12 '
        f'{(height - bottom) / 2})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    return _svg(width, height, "".join(parts), title)
