"""Charts as inline SVG: drawn by the page itself, nothing fetched, printable."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1d70b8", "#00703c", "#d4351c", "#f47738", "#4c2c92", "#28a197", "#912b88", "#505a5f")


def bar_chart(title: str, items: Sequence[tuple[str, int]], width: int = 560) -> str:
    """A horizontal bar chart of (label, count), largest first, as an SVG element."""
    items = sorted(items, key=lambda kv: (-kv[1], kv[0]))[:20]
    if not items:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p class="empty">None.</p></figure>'
    bar_h, gap, label_w = 20, 6, 230
    top = max(v for _, v in items) or 1
    height = len(items) * (bar_h + gap) + gap
    rows = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(1, int((width - label_w - 70) * value / top))
        rows.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{PALETTE[i % len(PALETTE)]}">'
            f'<title>{escape(label)}: {value:,}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 14}">{value:,}</text>')
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
            f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg></figure>')
