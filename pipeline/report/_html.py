"""HTML pieces of the evidence reports: one self-contained page (inline CSS, page images as data URIs).

A page is a ``figure.sheet``: the page image, one absolutely positioned ``div.hl`` per box (``hl ok`` for a
supported value or a verified citation, ``hl bad`` for an unsupported one) and its ``div.tag`` (label and
value) placed beside it, in a gutter right of the page when the page itself has no room. Positions are CSS
pixels computed here, so the browser only draws; tests read them back from the ``data-*`` attributes.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.report._pages import Highlight, Rect, page_png, page_size, place_tag

SCALE = 1.25  # CSS pixels per PDF point
ZOOM = 1.5  # image pixels per PDF point (sharper than SCALE when the browser zooms in)
GUTTER = 280  # CSS pixels right of the page for tags
TAG_HEIGHT = 15
CHAR_WIDTH = 6.6  # upper estimate for 11px sans-serif

CSS = """
:root { --ok: #e0a800; --ok-fill: rgba(255, 200, 0, 0.33); --ok-tag: #ffd54f; --bad: #d00000;
        --bad-fill: rgba(230, 0, 0, 0.18); --bad-tag: #b71c1c; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1d1d1f; background: #eef0f3; }
header.top { background: #1f2a44; color: #fff; padding: 14px 24px; }
header.top h1 { font-size: 20px; margin: 0; } header.top p { margin: 4px 0 0; opacity: 0.8; }
main { padding: 16px 24px; }
section.doc, section.answer { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 0 0 20px;
       box-shadow: 0 1px 3px rgba(0,0,0,0.12); }
h2 { font-size: 17px; margin: 0 0 4px; word-break: break-all; } p.path { margin: 0 0 10px; color: #666; font-size: 12px; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: 12px; font-weight: 600;
         margin-left: 6px; vertical-align: middle; background: #ddd; }
.badge.success, .badge.grounded, .badge.found { background: #d4f5dc; color: #14632b; }
.badge.partial { background: #fff1c2; color: #7a5600; }
.badge.failure, .badge.ungrounded, .badge.not-found { background: #ffd9d9; color: #8a0000; }
table.fields { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
table.fields th, table.fields td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: left; vertical-align: top; }
table.fields th { background: #f5f6f8; }
td.num { color: #555; } td.value { font-weight: 600; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
td.quote { color: #444; max-width: 520px; }
tr.bad td.mark { color: var(--bad); font-weight: 700; } tr.ok td.mark { color: #14632b; font-weight: 600; }
tr.absent td, tr.nobox td.mark { color: #777; }
.pages { display: flex; flex-direction: column; gap: 28px; padding-bottom: 20px; }
figure.sheet { position: relative; margin: 0; }
figure.sheet img { position: absolute; left: 0; top: 0; box-shadow: 0 0 0 1px #c8c8c8; background: #fff; }
figure.sheet figcaption { position: absolute; left: 0; bottom: -18px; font-size: 12px; color: #666; }
.hl { position: absolute; border: 2px solid var(--ok); background: var(--ok-fill); border-radius: 2px; }
.hl.bad { border: 2px dashed var(--bad); background: var(--bad-fill); }
.hl.unsure { border: 2px dashed #1e88e5; background: rgba(30, 136, 229, 0.15); }
.hl.conflict { border: 2px dashed #8e24aa; background: rgba(142, 36, 170, 0.18); }
.tag.unsure { background: #1e88e5; color: #fff; } .tag.conflict { background: #8e24aa; color: #fff; }
tr.unsure td.mark { color: #1565c0; font-weight: 600; } tr.conflict td.mark { color: #8e24aa; font-weight: 700; }
.tag { position: absolute; height: 15px; line-height: 15px; padding: 0 4px; font-size: 11px; white-space: nowrap;
       background: var(--ok-tag); color: #111; border-radius: 3px; overflow: hidden; }
.tag.bad { background: var(--bad-tag); color: #fff; }
.answer-text { font-size: 16px; padding: 10px 14px; background: #f7f9fc; border-left: 4px solid #1f2a44; margin: 8px 0; }
mark { background: var(--ok-fill); outline: 2px solid var(--ok); } mark.bad { background: var(--bad-fill); outline-color: var(--bad); }
blockquote { margin: 6px 0; padding: 6px 12px; border-left: 3px solid #ccc; background: #fafafa; }
.note { color: #666; font-size: 12px; }
nav.contents { margin: 12px 0 24px; } nav.contents td a { color: #1f2a44; } .filters label { margin-right: 16px; }
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def document(title: str, subtitle: str, body: str) -> str:
    """The whole HTML file: one page, no external resource."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<header class=\"top\"><h1>{esc(title)}</h1><p>{esc(subtitle)}</p>"
        f"</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


@dataclass(frozen=True)
class Box:
    """A highlight on a page image: ``bad`` for an unsupported value or an unverified citation."""

    page: int
    rect: Any  # BBox, in PDF points
    label: str
    bad: bool = False
    key: str = ""  # the field name or citation number, for data-key
    tone: str = ""  # "unsure" or "conflict": printed, but not verified for this field (drawn apart)


def sheet(doc: Any, page: int, boxes: Sequence[Box]) -> str:
    """One page as a figure: the image, a ``div.hl`` per box and its ``div.tag``, positioned in CSS pixels."""
    w_pt, h_pt = page_size(doc, page)
    width, height = w_pt * SCALE, h_pt * SCALE
    png = page_png(doc, page, zoom=ZOOM)
    words = [(w[0] * SCALE, w[1] * SCALE, w[2] * SCALE, w[3] * SCALE) for w in doc[page - 1].get_text("words")]
    rects = [_px(b.rect) for b in boxes]
    area = (0.0, 0.0, width + GUTTER, height)
    placed: list[Rect] = []
    parts: list[str] = []
    for i, (b, r) in enumerate(zip(boxes, rects)):
        cls = "bad" if b.bad else (b.tone or "ok")
        parts.append(f'<div class="hl {cls}" data-key="{esc(b.key)}" data-page="{page}" '
                     f'style="{_style(r)}" title="{esc(b.label)}"></div>')
        if b.label:
            others = rects[:i] + rects[i + 1:] + words
            t = place_tag(len(b.label) * CHAR_WIDTH + 10, TAG_HEIGHT, r, area, others, placed)
            placed.append(t)
            parts.append(f'<div class="tag {cls}" data-key="{esc(b.key)}" style="{_style(t)}">{esc(b.label)}</div>')
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="sheet" data-page="{page}" style="width:{width + GUTTER:.0f}px;height:{height:.0f}px">'
        f'<img src="{src}" alt="page {page}" width="{width:.0f}" height="{height:.0f}" '
        f'style="width:{width:.0f}px;height:{height:.0f}px">'
        + "".join(parts)
        + f"<figcaption>page {page} of {doc.page_count}</figcaption></figure>"
    )


def _px(bbox: Any) -> Rect:
    pad = 2.0
    return (bbox.x0 * SCALE - pad, bbox.y0 * SCALE - pad, bbox.x1 * SCALE + pad, bbox.y1 * SCALE + pad)


def _style(r: Rect) -> str:
    return f"left:{r[0]:.1f}px;top:{r[1]:.1f}px;width:{r[2] - r[0]:.1f}px;height:{r[3] - r[1]:.1f}px"


def highlights_of(boxes: Sequence[Box]) -> list[Highlight]:
    """The same boxes for :func:`pipeline.report._report.render_page` (a PNG instead of HTML)."""
    from pipeline.report._pages import CONFLICT_COLOR, SUPPORTED_COLOR, UNCERTAIN_COLOR, UNSUPPORTED_COLOR

    def color(b: Box) -> str:
        if b.bad:
            return UNSUPPORTED_COLOR
        return {"unsure": UNCERTAIN_COLOR, "conflict": CONFLICT_COLOR}.get(b.tone, SUPPORTED_COLOR)

    return [Highlight(b.page, b.rect, b.label, color(b), dashed=b.bad or bool(b.tone)) for b in boxes]


def marked(text: str, quote: str, bad: bool = False) -> str:
    """``text`` escaped, with the first occurrence of ``quote`` (case-insensitive) in a ``<mark>``."""
    i = text.lower().find(quote.lower()) if quote else -1
    if i < 0:
        return esc(text)
    cls = ' class="bad"' if bad else ""
    return esc(text[:i]) + f"<mark{cls}>" + esc(text[i:i + len(quote)]) + "</mark>" + esc(text[i + len(quote):])


__all__ = ["CSS", "Box", "document", "esc", "highlights_of", "marked", "sheet"]
