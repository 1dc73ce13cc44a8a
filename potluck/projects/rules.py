"""Pure rules about projects: addresses, licences, links, search terms, stepping down.

Nothing here touches the database, the network or the clock; the service layer calls these
with plain values and turns their ``InvalidInput`` errors into answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from license_expression import ExpressionError, get_spdx_licensing

from potluck.errors import ErrorBody, InvalidInput

SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 60
NAME_MAX_LENGTH = 120
SUMMARY_MAX_LENGTH = 280
DESCRIPTION_MAX_LENGTH = 50_000
LICENCE_MAX_LENGTH = 200
MAX_LINKS = 10
LINK_LABEL_MAX_LENGTH = 60
LINK_URL_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 5_000
MAX_SEARCH_TERMS = 8
SEARCH_MAX_LENGTH = 100

# Addresses that pages and the API already use, or that would confuse people if a project
# took them (a project called "new" would hide the form that starts a project).
RESERVED_SLUGS = frozenset(
    {
        "about",
        "admin",
        "api",
        "edit",
        "explore",
        "help",
        "invitations",
        "login",
        "logout",
        "me",
        "new",
        "projects",
        "search",
        "settings",
        "sign-in",
        "sign-out",
        "sign-up",
        "static",
        "stewards",
    }
)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_LIKE_SPECIALS = re.compile(r"([\\%_])")

# Loading the SPDX list and building its tokenizer takes a moment and is not thread-safe the
# first time, so it happens once at import rather than inside a request.
_licensing = get_spdx_licensing()
_licensing.parse("MIT")


def check_slug(slug: str) -> str:
    """Return the slug, stripped and lower-cased, or raise saying which rule it breaks.

    A slug is the project's address (``/projects/<slug>``): 3 to 60 characters of lower-case
    letters, digits and single hyphens, neither starting nor ending with a hyphen, and not
    one of the reserved words.
    """
    clean = slug.strip().lower()
    if len(clean) < SLUG_MIN_LENGTH:
        raise InvalidInput(
            f"An address needs at least {SLUG_MIN_LENGTH} characters; '{clean}' is too short.",
            field="slug",
        )
    if len(clean) > SLUG_MAX_LENGTH:
        raise InvalidInput(
            f"An address is at most {SLUG_MAX_LENGTH} characters.",
            field="slug",
        )
    if not _SLUG.match(clean):
        raise InvalidInput(
            f"'{clean}' is not a valid address: use lower-case letters, digits and single "
            "hyphens, not starting or ending with a hyphen.",
            field="slug",
        )
    if clean in RESERVED_SLUGS:
        raise InvalidInput(
            f"'{clean}' is reserved for Potluck's own pages; choose another address.",
            field="slug",
        )
    return clean


def check_new_slug(slug: str | None, name: str) -> str:
    """The address for a new project: the one asked for, or else one made from its name."""
    if slug is not None and slug.strip():
        return check_slug(slug)
    try:
        return check_slug(slug_from_name(name))
    except InvalidInput as error:
        raise InvalidInput(
            f"No address could be made from the name '{name}' ({error.detail}) "
            "Choose an address yourself.",
            field="slug",
        ) from error


def slug_from_name(name: str) -> str:
    """Suggest an address for a project name: accents dropped, everything else hyphenated.

    The result may still break a rule (a name of only symbols gives ``""``), so it goes
    through ``check_slug`` like any other slug.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX_LENGTH].rstrip("-")


def _single_line(value: str) -> str:
    return " ".join(value.split())


def check_name(name: str) -> str:
    """Return the project name with surrounding and repeated whitespace removed."""
    clean = _single_line(name)
    if not clean:
        raise InvalidInput("A project needs a name.", field="name")
    if len(clean) > NAME_MAX_LENGTH:
        raise InvalidInput(f"A project name is at most {NAME_MAX_LENGTH} characters.", field="name")
    return clean


def check_summary(summary: str) -> str:
    """Return the one-line summary with surrounding and repeated whitespace removed."""
    clean = _single_line(summary)
    if not clean:
        raise InvalidInput(
            "A project needs a summary: one sentence saying what it is for.", field="summary"
        )
    if len(clean) > SUMMARY_MAX_LENGTH:
        raise InvalidInput(
            f"A summary is at most {SUMMARY_MAX_LENGTH} characters; "
            "put the rest in the description.",
            field="summary",
        )
    return clean


def _multi_line(value: str) -> str:
    # Browsers submit textareas with CRLF; store one kind of line ending.
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def check_description(description: str) -> str:
    """Return the Markdown description with line endings unified and ends trimmed."""
    clean = _multi_line(description)
    if len(clean) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"A description is at most {DESCRIPTION_MAX_LENGTH:,} characters.",
            field="description",
        )
    return clean


def check_note(note: str, *, field: str) -> str:
    """Return a free-text note (a handover note, an invitation message), trimmed."""
    clean = _multi_line(note)
    if len(clean) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"This note is at most {NOTE_MAX_LENGTH:,} characters.", field=field)
    return clean


def check_licence(expression: str) -> str:
    """Return the SPDX licence expression in its canonical spelling, or raise naming the fault.

    Identifiers are matched case-insensitively and deprecated ones are modernised
    (``mit or apache-2.0`` gives ``MIT OR Apache-2.0``, ``GPL-2.0+`` gives
    ``GPL-2.0-or-later``). Identifiers missing from the SPDX list are refused by name.
    """
    source = _single_line(expression)
    if not source:
        raise InvalidInput(
            "A project needs a licence: an SPDX expression such as MIT or "
            "'GPL-3.0-or-later OR Apache-2.0'.",
            field="licence",
        )
    try:
        parsed = _licensing.parse(source, strict=True)
    except ExpressionError as error:
        raise InvalidInput(
            f"'{source}' is not a valid SPDX licence expression: {error}.", field="licence"
        ) from error
    unknown = _licensing.unknown_license_keys(parsed)
    if unknown:
        names = ", ".join(f"'{key}'" for key in unknown)
        plural = "identifiers" if len(unknown) > 1 else "identifier"
        raise InvalidInput(
            f"Unknown SPDX licence {plural} {names}; use identifiers from "
            "https://spdx.org/licenses/ such as MIT or Apache-2.0.",
            field="licence",
        )
    canonical = str(parsed)
    if len(canonical) > LICENCE_MAX_LENGTH:
        raise InvalidInput(
            f"A licence expression is at most {LICENCE_MAX_LENGTH} characters.", field="licence"
        )
    return canonical


@dataclass(frozen=True)
class Link:
    """A labelled address shown on the project page (source code, chat, website)."""

    label: str
    url: str


def check_link(label: str, url: str, *, position: int = 1) -> Link:
    """Return the link with its label and address trimmed, or raise naming the row.

    Only ``http`` and ``https`` addresses with a host are accepted: anything else
    (``javascript:``, ``data:``, a bare path) could run code or go nowhere when clicked.
    """
    clean_label = _single_line(label)
    clean_url = url.strip()
    where = f"Link {position}"
    if not clean_label:
        raise InvalidInput(f"{where} needs a label, such as 'Source code'.", field="links")
    if len(clean_label) > LINK_LABEL_MAX_LENGTH:
        raise InvalidInput(
            f"{where}: a label is at most {LINK_LABEL_MAX_LENGTH} characters.", field="links"
        )
    if len(clean_url) > LINK_URL_MAX_LENGTH:
        raise InvalidInput(
            f"{where}: an address is at most {LINK_URL_MAX_LENGTH} characters.", field="links"
        )
    try:
        parts = urlsplit(clean_url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in {"http", "https"}
        or not host
        or any(character.isspace() or ord(character) < 32 for character in clean_url)
    ):
        raise InvalidInput(
            f"{where}: '{clean_url}' is not a web address; it must start with "
            "http:// or https:// and name a host.",
            field="links",
        )
    return Link(label=clean_label, url=clean_url)


def check_links(links: Iterable[tuple[str, str]]) -> list[Link]:
    """Return the links in order, at most ten, each checked with ``check_link``.

    Rows whose label and address are both blank are skipped, so that a form can offer
    empty rows to fill in.
    """
    filled = [(label, url) for label, url in links if label.strip() or url.strip()]
    if len(filled) > MAX_LINKS:
        raise InvalidInput(
            f"A project shows at most {MAX_LINKS} links; {len(filled)} were given.",
            field="links",
        )
    return [
        check_link(label, url, position=position)
        for position, (label, url) in enumerate(filled, start=1)
    ]


class InvalidFields(InvalidInput):
    """Several fields are wrong at once; ``problems`` maps each field to its message.

    A form shows every message next to its field in one go; the API answers with all of
    them in ``detail`` and the first field in ``field``.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()), field=next(iter(problems)))
        self.problems = problems

    def body(self) -> ErrorBody:
        # Same name as any other bad input, so clients handle one kind of 422.
        return ErrorBody(error=InvalidInput.__name__, detail=self.detail, field=self.field)


@dataclass(frozen=True)
class ProjectFields:
    """A project's fields, checked and normalised; ``None`` where a field was not given."""

    slug: str | None = None
    name: str | None = None
    summary: str | None = None
    description: str | None = None
    licence: str | None = None
    links: list[Link] | None = None


def check_project_fields(
    *,
    new_slug: str | None = None,
    name: str | None = None,
    summary: str | None = None,
    description: str | None = None,
    licence: str | None = None,
    links: Iterable[tuple[str, str]] | None = None,
) -> ProjectFields:
    """Check every given field and report all problems at once with ``InvalidFields``.

    ``new_slug`` is for starting a project: an empty one is made from the name. Fields left
    as ``None`` are not checked and stay ``None``.
    """
    problems: dict[str, str] = {}
    checked: dict[str, Any] = {}
    checks: list[tuple[str, Callable[[Any], Any], object]] = [
        ("name", check_name, name),
        ("summary", check_summary, summary),
        ("description", check_description, description),
        ("licence", check_licence, licence),
        ("links", check_links, links),
    ]
    for key, rule, value in checks:
        if value is None:
            continue
        try:
            checked[key] = rule(value)
        except InvalidInput as error:
            problems.setdefault(error.field or key, error.detail)
    # An address made from a name that was refused would only repeat the name's problem.
    if new_slug is not None and (new_slug.strip() or "name" not in problems):
        try:
            checked["slug"] = check_new_slug(new_slug, checked.get("name", ""))
        except InvalidInput as error:
            problems.setdefault("slug", error.detail)
    if problems:
        ordered = {key: problems[key] for key in _FIELD_ORDER if key in problems}
        raise InvalidFields(ordered)
    return ProjectFields(**checked)


_FIELD_ORDER = ("name", "slug", "summary", "description", "licence", "links")


@dataclass(frozen=True)
class StepDownDecision:
    """Whether a steward may step down now and, if not, why in words a person can act on."""

    allowed: bool
    reason: str = ""


def step_down_decision(active_stewards: int, *, project_name: str) -> StepDownDecision:
    """Decide whether one of ``active_stewards`` stewards may step down.

    Any steward may step down at any time, except the last one: the project would be left
    with nobody to coordinate it. Until adoption by a new steward exists, the last steward
    must first invite someone to take over.
    """
    if active_stewards > 1:
        return StepDownDecision(allowed=True)
    return StepDownDecision(
        allowed=False,
        reason=(
            f"You are the last steward of {project_name}. If you stepped down, the project "
            "would have nobody to coordinate it. Invite another peer to steward it first; "
            "once they accept, you can step down with a handover note."
        ),
    )


def search_terms(query: str | None) -> list[str]:
    """Split a search box's text into the distinct, case-folded words to look for.

    Whitespace and case are ignored, repeated words count once, and only the first few
    words of an over-long query are kept. An empty list means "show everything".
    """
    if not query:
        return []
    # Fold before cutting: folding can lengthen text (ß becomes ss), and a query that is
    # normalised twice must give the same words.
    words = query.casefold()[:SEARCH_MAX_LENGTH].split()
    distinct = list(dict.fromkeys(words))
    return distinct[:MAX_SEARCH_TERMS]


def normalise_query(query: str | None) -> str:
    """The search text as it is shown back in the search box and in page links."""
    return " ".join(search_terms(query))


def search_text(*parts: str) -> str:
    """The text a project is found by: its words case-folded, for matching ``search_terms``.

    Case-folding in Python rather than with ``lower()`` in SQL makes search behave the same
    on SQLite and PostgreSQL, including for letters outside ASCII.
    """
    return " ".join(" ".join(part.split()) for part in parts).casefold()


def like_pattern(term: str) -> str:
    """A SQL ``LIKE`` pattern that finds ``term`` anywhere, with ``\\`` as escape character.

    ``%`` and ``_`` in the term are matched literally, so a search for ``100%`` does not
    match everything.
    """
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", term) + "%"


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` results fill; at least one, so page 1 always exists."""
    return max(1, -(-total // per_page))


def describe_changes(fields: Sequence[str]) -> str:
    """Join changed field names for a log line: ``name``, ``name and licence``, ``a, b and c``."""
    if not fields:
        return "nothing"
    if len(fields) == 1:
        return fields[0]
    return ", ".join(fields[:-1]) + " and " + fields[-1]
