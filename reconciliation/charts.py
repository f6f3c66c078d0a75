"""Charts drawn by the page itself (inline SVG bars, nothing fetched, printable): every bar has its
label and value beside it in text, and a fixed fill whose colour and pattern both mean one thing."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple

# meaning -> (colour, pattern, legend text); the pattern tells the meanings apart without hue
FILLS: dict[str, tuple[str, str, str]] = {
    "migrated": ("#00703c", "solid", "Migrated: in the new system"),
    "quarantined": ("#d4351c", "striped", "Quarantined: held back until fixed in CID"),
    "pending": ("#1d70b8", "dotted", "Pending: in flight, its wave not run yet"),
    "excluded": ("#b1b4b6", "cross-hatched", "Excluded: not in flight (closed, decided, deleted), never migrated"),
    "unexplained": ("#0b0c0c", "solid black", "Unexplained: in flight but in no other group (should be none)"),
    "count": ("#505a5f", "solid grey", "Other charts: a count of cases or rows"),
}
_PATTERNS = {
    "solid": "",
    "solid black": "",
    "solid grey": "",
    "striped": '<rect width="3" height="8" fill="#fff" fill-opacity=".6"/>',
    "dotted": '<circle cx="4" cy="4" r="1.7" fill="#fff"/>',
    "cross-hatched": '<path d="M0 0L8 8M8 0L0 8" stroke="#0b0c0c" stroke-width="1"/>',
}


class Bar(NamedTuple):
    """One bar: its text label, its value, what its fill means and, optionally, a code shown beside."""

    label: str
    value: int
    fill: str = "count"
    code: str | None = None


def pattern_defs() -> str:
    """The fills as SVG patterns, once per page (kept rendered but zero-sized: hidden defs are not drawn)."""
    patterns = []
    for meaning, (colour, pattern, _) in FILLS.items():
        rotate = ' patternTransform="rotate(45)"' if pattern == "striped" else ""
        patterns.append(f'<pattern id="fill-{meaning}" width="8" height="8" patternUnits="userSpaceOnUse"{rotate}>'
                        f'<rect width="8" height="8" fill="{colour}"/>{_PATTERNS[pattern]}</pattern>')
    return (f'<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false">'
            f'<defs>{"".join(patterns)}</defs></svg>')


def swatch(meaning: str) -> str:
    """A small sample of a fill, for the legend."""
    return (f'<svg class="swatch" width="28" height="16" aria-hidden="true" focusable="false">'
            f'<rect width="28" height="16" fill="url(#fill-{meaning})" stroke="#0b0c0c"/></svg>')


def legend() -> str:
    """What each fill means, in words (the bars carry their labels too)."""
    items = "".join(f'<li data-fill="{m}">{swatch(m)} <span>{escape(text)} ({FILLS[m][1]})</span></li>'
                    for m, (_, _, text) in FILLS.items())
    return f'<ul class="legend" aria-label="Legend">{items}</ul>'


def bar_chart(title: str, bars: Sequence[Bar], *, keep_order: bool = False, limit: int = 20) -> str:
    """A horizontal bar chart, largest first unless told to keep the order given, as a figure."""
    shown = list(bars) if keep_order else sorted(bars, key=lambda b: (-b.value, b.label))
    shown = shown[:limit]
    if not shown:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p class="empty">None.</p></figure>'
    top = max(b.value for b in shown) or 1
    rows = []
    for bar in shown:
        width = max(0.5, 80.0 * bar.value / top) if bar.value else 0.0
        code = f' <code>{escape(bar.code)}</code>' if bar.code else ""
        rows.append(
            f'<li data-fill="{escape(bar.fill)}"><span class="bar-label">{escape(bar.label)}{code}</span>'
            f'<span class="bar-line"><svg class="bar" width="{width:.1f}%" height="18" aria-hidden="true" '
            f'focusable="false"><rect width="100%" height="100%" fill="url(#fill-{escape(bar.fill)})" '
            f'stroke="#0b0c0c" stroke-width=".5"/></svg><span class="bar-value">{bar.value:,}</span></span></li>')
    more = (f'<p class="meta">The {limit} largest of {len(bars)}.</p>' if len(bars) > limit else "")
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
            f'<ul class="bars" aria-label="{escape(title)}">{"".join(rows)}</ul>{more}</figure>')
