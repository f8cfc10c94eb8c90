"""Server-side SVG bar charts that work under the strict Content-Security-Policy (no script, no styles).

The pages' CSP forbids inline styles and scripts, so a chart is plain SVG markup built here and inlined into
the page: no `style` attribute, no `<style>` element, no `<script>`, no event handlers, no external
references. Presentation attributes (`fill`, `stroke`, `font-size`, `text-anchor`, ...) are not styles and
are allowed by `style-src`.

Every piece of text comes from data (code names, country names, titles) and is XML-escaped (`&`, `<`, `>`,
quotes) after removing characters XML 1.0 cannot hold at all (control characters other than tab and line
breaks), so the output is always well-formed XML and never markup injected through a label.

Accessibility: the root has `role="img"` and `aria-labelledby` pointing at its `<title>` and `<desc>`; the
description lists every bar ("Label: value"), so a screen reader gets the data, not a picture. Each bar
also carries its own `<title>` (a tooltip with the full label when it is shortened on screen). Text is
#1a1a1a on a white background (contrast about 17:1, WCAG AA needs 4.5:1); bars are #1f5f99 (about 6.6:1
against white, above the 3:1 WCAG 2.1 asks of graphical objects). `contrast_ratio` computes the WCAG ratio.

Layout: horizontal bars (labels on the left) when any label is longer than `SHORT_LABEL` characters or
there are more than `MAX_COLUMNS` bars; vertical columns otherwise (`orientation` forces one). The value
axis starts at zero and has "nice" ticks (1, 2 or 5 × 10^n). Values must be non-negative ints (counts);
suppressed small cells must be left out or merged before charting. Output is deterministic: the element
ids derive from a hash of the title and data unless `chart_id` is given.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Final, Literal

from markupsafe import Markup, escape

TEXT_COLOUR: Final = "#1a1a1a"
MUTED_COLOUR: Final = "#4d4d4d"
BAR_COLOUR: Final = "#1f5f99"
BACKGROUND: Final = "#ffffff"
GRID_COLOUR: Final = "#d0d0d0"
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
FONT_SIZE: Final = 13
SHORT_LABEL: Final = 8
MAX_COLUMNS: Final = 12
MAX_LABEL_CHARS: Final = 40
CHAR_WIDTH: Final = 0.6  # average glyph width as a share of the font size, for layout estimates

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CHART_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def xml_text(value: object) -> str:
    """`value` as text safe inside an XML element or a quoted attribute."""
    return str(escape(_XML_ILLEGAL.sub("\ufffd", str(value))))


def _relative_luminance(colour: str) -> float:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        raise ValueError(f"colour must be #rrggbb, not {colour!r}")
    channels = []
    for index in (1, 3, 5):
        c = int(colour[index : index + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    a, b = _relative_luminance(foreground), _relative_luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def nice_ticks(maximum: int, count: int = 5) -> list[int]:
    """Ticks from 0 to at least `maximum` in steps of 1, 2 or 5 × 10^n (about `count` of them)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: max(1, limit - 1)] + "…"


def _text_width(text: str) -> float:
    return len(text) * FONT_SIZE * CHAR_WIDTH


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    title: str,
    data: Sequence[tuple[str, int]],
    *,
    width: int = 600,
    height: int | None = None,
    description: str | None = None,
    value_label: str = "Count",
    category_label: str | None = None,
    orientation: Literal["auto", "horizontal", "vertical"] = "auto",
    chart_id: str | None = None,
) -> Markup:
    """An accessible SVG bar chart of (label, count) pairs, safe to inline under a strict CSP.

    `height` defaults to what the bars need. `description` is prepended to the generated list of values in
    `<desc>`. `value_label` names the value axis, `category_label` (optional) the label axis.
    """
    if width < 200:
        raise ValueError("a chart needs a width of at least 200")
    for label, value in data:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"bar values must be non-negative ints, not {value!r} for {label!r}")
    if chart_id is None:
        digest = hashlib.sha256(repr((title, list(data))).encode("utf-8", "surrogatepass")).hexdigest()
        chart_id = f"chart-{digest[:12]}"
    elif not _CHART_ID.match(chart_id):
        raise ValueError(f"bad chart id {chart_id!r}")
    horizontal = orientation == "horizontal" or (
        orientation == "auto"
        and (len(data) > MAX_COLUMNS or any(len(label) > SHORT_LABEL for label, _ in data))
    )
    summary = "; ".join(f"{label}: {value}" for label, value in data) or "No data."
    desc = f"{description} {summary}" if description else summary
    if horizontal:
        body, needed = _horizontal(data, width, category_label, value_label)
    else:
        body, needed = _vertical(data, width, category_label, value_label)
    total_height = max(height or needed, 120)
    title_chars = int(width / ((FONT_SIZE + 3) * CHAR_WIDTH))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{total_height}"'
        f' viewBox="0 0 {width} {total_height}" aria-labelledby="{chart_id}-title {chart_id}-desc"'
        f' font-family="{xml_text(FONT)}" font-size="{FONT_SIZE}" class="chart">',
        f'<title id="{chart_id}-title">{xml_text(title)}</title>',
        f'<desc id="{chart_id}-desc">{xml_text(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{total_height}" fill="{BACKGROUND}"/>',
        f'<text x="{width / 2:g}" y="22" text-anchor="middle" font-size="{FONT_SIZE + 3}" font-weight="bold"'
        f' fill="{TEXT_COLOUR}">{xml_text(_shorten(title, title_chars))}</text>',
    ]
    if not data:
        parts.append(
            f'<text x="{width / 2:g}" y="{total_height / 2:g}" text-anchor="middle" fill="{MUTED_COLOUR}">'
            "No data</text>"
        )
    else:
        parts.extend(body)
    parts.append("</svg>")
    # Safe: every piece of text in `parts` went through xml_text; the rest is fixed markup and numbers.
    return Markup("".join(parts))  # noqa: S704


def _bar(x: float, y: float, w: float, h: float, label: str, value: int) -> str:
    return (
        f"<g><title>{xml_text(f'{label}: {value}')}</title>"
        f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" height="{_fmt(h)}" fill="{BAR_COLOUR}"/></g>'
    )


def _horizontal(
    data: Sequence[tuple[str, int]], width: int, category_label: str | None, value_label: str
) -> tuple[list[str], int]:
    bar, gap, top = 22, 8, 40
    fits = int((width * 0.45 - 12) / (FONT_SIZE * CHAR_WIDTH))  # labels take at most 45% of the width
    labels = [_shorten(label, min(MAX_LABEL_CHARS, fits)) for label, _ in data]
    label_width = max((_text_width(label) for label in labels), default=0) + 12
    left = 10 + label_width
    value_room = _text_width(str(max((v for _, v in data), default=0))) + 12
    plot_width = max(width - left - value_room - 10, 40)
    ticks = nice_ticks(max((v for _, v in data), default=0))
    scale = plot_width / ticks[-1]
    plot_height = len(data) * (bar + gap)
    bottom = top + plot_height
    parts: list[str] = []
    for tick in ticks:
        x = left + tick * scale
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{top - 4}" x2="{_fmt(x)}" y2="{bottom}" stroke="{GRID_COLOUR}"'
            ' stroke-width="1"/>'
            f'<text x="{_fmt(x)}" y="{bottom + 16}" text-anchor="middle" fill="{MUTED_COLOUR}">{tick}</text>'
        )
    for index, ((label, value), shown) in enumerate(zip(data, labels, strict=True)):
        y = top + index * (bar + gap)
        length = value * scale
        parts.append(
            f'<text x="{_fmt(left - 8)}" y="{_fmt(y + bar / 2 + 4)}" text-anchor="end" fill="{TEXT_COLOUR}">'
            f"{xml_text(shown)}</text>"
        )
        parts.append(_bar(left, y, length, bar, label, value))
        parts.append(
            f'<text x="{_fmt(left + length + 6)}" y="{_fmt(y + bar / 2 + 4)}" fill="{TEXT_COLOUR}">'
            f"{value}</text>"
        )
    parts.append(
        f'<line x1="{_fmt(left)}" y1="{top - 4}" x2="{_fmt(left)}" y2="{bottom}" stroke="{TEXT_COLOUR}"'
        ' stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{_fmt(left + plot_width / 2)}" y="{bottom + 36}" text-anchor="middle"'
        f' fill="{TEXT_COLOUR}">{xml_text(value_label)}</text>'
    )
    if category_label:
        parts.append(
            f'<text x="10" y="{top - 10}" fill="{TEXT_COLOUR}" font-weight="bold">'
            f"{xml_text(category_label)}</text>"
        )
    return parts, bottom + 50


def _vertical(
    data: Sequence[tuple[str, int]], width: int, category_label: str | None, value_label: str
) -> tuple[list[str], int]:
    top, plot_height, left = 50, 240, 70
    ticks = nice_ticks(max((v for _, v in data), default=0))
    plot_width = width - left - 20
    slot = plot_width / max(len(data), 1)
    bar = slot * 0.7
    scale = plot_height / ticks[-1]
    bottom = top + plot_height
    parts: list[str] = []
    for tick in ticks:
        y = bottom - tick * scale
        parts.append(
            f'<line x1="{left}" y1="{_fmt(y)}" x2="{left + plot_width}" y2="{_fmt(y)}" stroke="{GRID_COLOUR}"'
            ' stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" fill="{MUTED_COLOUR}">{tick}</text>'
        )
    for index, (label, value) in enumerate(data):
        x = left + index * slot + (slot - bar) / 2
        length = value * scale
        parts.append(_bar(x, bottom - length, bar, length, label, value))
        parts.append(
            f'<text x="{_fmt(x + bar / 2)}" y="{_fmt(bottom - length - 6)}" text-anchor="middle"'
            f' fill="{TEXT_COLOUR}">{value}</text>'
        )
        parts.append(
            f'<text x="{_fmt(x + bar / 2)}" y="{bottom + 18}" text-anchor="middle" fill="{TEXT_COLOUR}">'
            f"{xml_text(label)}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_width}" y2="{bottom}" stroke="{TEXT_COLOUR}"'
        ' stroke-width="1"/>'
    )
    parts.append(
        f'<text x="16" y="{_fmt(top + plot_height / 2)}" text-anchor="middle" fill="{TEXT_COLOUR}"'
        f' transform="rotate(-90 16 {_fmt(top + plot_height / 2)})">{xml_text(value_label)}</text>'
    )
    if category_label:
        parts.append(
            f'<text x="{_fmt(left + plot_width / 2)}" y="{bottom + 40}" text-anchor="middle"'
            f' fill="{TEXT_COLOUR}">{xml_text(category_label)}</text>'
        )
    return parts, bottom + (54 if category_label else 34)
