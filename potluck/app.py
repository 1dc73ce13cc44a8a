"""The web application: JSON API under /api/v1, HTML pages, static files, error rendering."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from potluck import __version__
from potluck.clock import Clock, SystemClock
from potluck.config import Settings
from potluck.db import Database
from potluck.errors import ErrorBody, PotluckError
from potluck.idempotency import IdempotencyMiddleware
from potluck.ledger import api as ledger_api
from potluck.ledger import pages as ledger_pages
from potluck.ledger.lane import TransferLane
from potluck.people import api as people_api
from potluck.people import pages as people_pages
from potluck.pledges import api as pledges_api
from potluck.pledges import pages as pledges_pages
from potluck.pledges.payments import api as payments_api
from potluck.pledges.payments import pages as payments_pages
from potluck.pledges.payments.registry import ProviderRegistry
from potluck.projects import api as projects_api
from potluck.projects import pages as projects_pages
from potluck.web import csrf
from potluck.web.pages import STATIC_DIR, render

API_PREFIX = "/api/v1"

_STATUS_NAMES = {
    400: "BadRequest",
    401: "NotSignedIn",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    422: "InvalidInput",
    429: "TooManyAttempts",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or "text/html" not in request.headers.get(
        "accept", ""
    )


def _error_response(request: Request, body: ErrorBody, status: int) -> Response:
    if _wants_json(request):
        return JSONResponse(body.model_dump(exclude_none=True), status_code=status)
    return render(request, "error.html", {"error": body, "status": status}, status_code=status)


async def _on_potluck_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PotluckError)
    response = _error_response(request, error.body(), error.status)
    response.headers.update(error.headers)
    return response


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = []
    field = None
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        field = field or (location[-1] if location else None)
        where = ".".join(location) or "request"
        problems.append(f"{where}: {problem.get('msg', 'is not valid')}")
    body = ErrorBody(error="InvalidInput", detail="; ".join(problems), field=field)
    return _error_response(request, body, 422)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    name = _STATUS_NAMES.get(error.status_code, "HTTPError")
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"Nothing is at {request.url.path}."
    response = _error_response(request, ErrorBody(error=name, detail=detail), error.status_code)
    if error.headers:
        response.headers.update(error.headers)
    return response


class SecurityHeadersMiddleware:
    """Adds the headers every answer carries, and the CSRF cookie a page handed out.

    Plain ASGI rather than ``@app.middleware("http")``, which would cost every request an
    extra task and a copy of its body.
    """

    _HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )

    def __init__(self, app: ASGIApp, *, secure_cookies: bool) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._HEADERS:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
                cookie = scope.get("state", {}).get(csrf.NEW_COOKIE_STATE)
                if cookie is not None:
                    headers.append("set-cookie", csrf.cookie_header(cookie, self.secure_cookies))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Potluck",
        version=__version__,
        summary="Round up what many peers can bring to keep owner-less projects running.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The docs page is served below from our own static files: no third-party CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.database = database or Database(settings.resolved_database_url)
    # Built now so that bad payment settings stop the start, not the first request.
    app.state.payment_providers = ProviderRegistry.from_settings()

    app.add_exception_handler(PotluckError, _on_potluck_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)

    # Added before the security headers so that it runs inside them: replayed answers get
    # the same headers as first ones.
    app.add_middleware(IdempotencyMiddleware, prefix=API_PREFIX)
    # Outside the keys' middleware: it handles its keys itself, and passes on what it does not
    # take. Inside the security headers, like every answer.
    if settings.group_commit:
        app.add_middleware(TransferLane, prefix=API_PREFIX)

    app.add_middleware(SecurityHeadersMiddleware, secure_cookies=settings.secure_cookies)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Potluck API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    for module in (people_api, projects_api, ledger_api, pledges_api):
        app.include_router(module.router, prefix=API_PREFIX)
    for pages_module in (people_pages, projects_pages, ledger_pages, pledges_pages):
        # Pages answer HTML; the OpenAPI document describes the JSON API only.
        app.include_router(pages_module.router, include_in_schema=False)
    app.include_router(payments_api.router, prefix=API_PREFIX)
    app.include_router(payments_pages.router, include_in_schema=False)
    return app
