"""What every HTML page shares: the template environment and the render helper."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from potluck.web import csrf
from potluck.web.markdown import headings_from, render_markdown

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["markdown"] = render_markdown
templates.env.filters["headings_from"] = headings_from


def _when(moment: datetime | None) -> str:
    return moment.strftime("%-d %b %Y, %H:%M UTC") if moment else ""


def _day(moment: datetime | None) -> str:
    return moment.strftime("%-d %b %Y") if moment else ""


templates.env.filters["when"] = _when
templates.env.filters["day"] = _day


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with what the layout needs: who is signed in and the CSRF token."""
    settings = request.app.state.settings
    full: dict[str, Any] = {
        "peer": getattr(request.state, "peer", None),
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.form_token(request, settings.resolved_secret_key),
    }
    full.update(context or {})
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """After a successful form post: see-other, so a reload does not post again."""
    return RedirectResponse(url, status_code=303)
