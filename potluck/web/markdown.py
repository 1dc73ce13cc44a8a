"""Markdown written by peers, rendered to HTML that is safe to put in a page."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the source is escaped rather than passed through; nh3 then removes anything
# the renderer produced that a page should not carry (scripts, event handlers, odd schemes).
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "del",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}


def render_markdown(source: str) -> Markup:
    html = _renderer.render(source)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


_HEADING_TAG = re.compile(r"<(/?)h([1-6])>")


def headings_from(html: Markup, level: int) -> Markup:
    """Shift the headings of rendered Markdown so that its highest one is ``level``.

    A peer's ``# Title`` would otherwise be a second h1 in the middle of the page, which
    breaks the outline that screen-reader users navigate by.
    """
    levels = [int(found.group(2)) for found in _HEADING_TAG.finditer(html)]
    if not levels:
        return html
    shift = level - min(levels)
    shifted = _HEADING_TAG.sub(
        lambda found: f"<{found.group(1)}h{min(6, int(found.group(2)) + shift)}>", str(html)
    )
    return Markup(shifted)  # noqa: S704 - only sanitised heading tags were renamed
