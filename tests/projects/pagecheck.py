"""Visiting pages like a browser without JavaScript, and checking the HTML they return:
its words, its form errors, and what a screen-reader user depends on."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.projects.factories import form_token

HTML = {"accept": "text/html"}

_FORM_CONTROLS = {"input", "select", "textarea"}
_UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.controls: list[dict[str, str]] = []
        self.label_targets: set[str] = set()
        self.ids: list[str] = []
        self.mains = 0
        self.text: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.append(values["id"])
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.headings.append(int(tag[1]))
        elif tag == "label" and values.get("for"):
            self.label_targets.add(values["for"])
        elif tag in _FORM_CONTROLS:
            self.controls.append({"tag": tag, **values})
        elif tag == "main":
            self.mains += 1
        elif tag in {"script", "style"}:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.text.append(data)


def _outline(html: str) -> _Outline:
    outline = _Outline()
    outline.feed(html)
    outline.close()
    return outline


def visible_text(html: str) -> str:
    """The page's words with tags removed and whitespace collapsed."""
    return " ".join("".join(_outline(html).text).split())


def accessibility_problems(html: str) -> list[str]:
    """What makes the page hard to use without sight: unlabelled fields, a broken outline."""
    outline = _outline(html)
    problems = []
    if outline.headings.count(1) != 1:
        problems.append(f"{outline.headings.count(1)} h1 headings instead of one")
    if outline.headings and outline.headings[0] != 1:
        problems.append(f"the first heading is h{outline.headings[0]}")
    for before, after in zip(outline.headings, outline.headings[1:], strict=False):
        if after > before + 1:
            problems.append(f"h{before} is followed by h{after}")
    if outline.mains != 1:
        problems.append(f"{outline.mains} main landmarks instead of one")
    duplicates = sorted({i for i in outline.ids if outline.ids.count(i) > 1})
    if duplicates:
        problems.append(f"repeated ids: {', '.join(duplicates)}")
    for control in outline.controls:
        if control["tag"] == "input" and control.get("type", "text") in _UNLABELLED_INPUTS:
            continue
        labelled = control.get("id", "") in outline.label_targets
        if not (labelled or control.get("aria-label") or control.get("aria-labelledby")):
            problems.append(f"{control['tag']} '{control.get('name', '?')}' has no label")
    return problems


def page(client: TestClient, path: str) -> httpx.Response:
    """GET a page as a browser asks for it, without following redirects."""
    answer: httpx.Response = client.get(path, headers=HTML, follow_redirects=False)
    return answer


def submit(
    client: TestClient, path: str, data: dict[str, Any], *, form_page: str
) -> httpx.Response:
    """Post a form the way a browser does: with the token from the page that shows it."""
    token = form_token(client, form_page)
    answer: httpx.Response = client.post(
        path, data={**data, "csrf_token": token}, headers=HTML, follow_redirects=False
    )
    return answer


def error_next_to(html: str, field: str) -> str:
    """The message the form shows next to ``field``; fails when there is none."""
    found = re.search(rf'<p class="error" id="e-{field}" role="alert">([^<]*)</p>', html)
    assert found is not None, f"no error next to {field}"
    return visible_text(found.group(1))
