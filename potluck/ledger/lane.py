"""The hot path of the books' API: one transfer per request, many requests at a time.

``POST /api/v1/ledger/transfers`` with an API token is the API's most frequent write: a
project's tooling posting each payment, expense or grid credit as it happens, often all
against one busy account. Through the ordinary route each request has its own transaction
(on SQLite, its own turn at the single write lock), its own Idempotency-Key claim and its own
commits, and the framework's per-request work on top; the write lock then lets one request
in at a time, and the rate is set by how fast one request can be served end to end.

Here the requests that arrive while one group is being written wait together and become the
next group (group commit, as databases do for their logs). A group is one transaction: the
stored keys are read in one query, the tokens in one, the transfers are planned together with
one set of reads and locks (``posting.post_each``), each request still accepted or refused on
its own exactly as if posted alone in turn, and every keyed answer is stored in that same
transaction, so work and answer commit together. The requests' answers go out once it commits.

The lane answers what the route would, in the same order of checks: the key first (a replay,
a key reused for another request, one still in progress), then the token, then the books. A
request it does not take (no bearer token, a body that is not valid JSON for a transfer, a
malformed key) goes on to the route unchanged and is answered as usual. If a group cannot be
written as a whole (another server took a transfer id or a key meanwhile), each of its
requests is written again alone, so one request's conflict never fails another's.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from potluck import idempotency
from potluck.clock import Clock
from potluck.db import Database
from potluck.deps import TOKEN_TOUCH_INTERVAL
from potluck.errors import Forbidden, NotSignedIn, PotluckError
from potluck.idempotency import Answer, ASGIApp, Receive, Scope, Send
from potluck.ledger import rules
from potluck.ledger.schemas import TransferIn, TransferOut
from potluck.ledger.service import accounts, books, posting
from potluck.people import service as people
from potluck.people.rules import secret_hash

PATH = "/ledger/transfers"
MAX_GROUP = 500
"""Requests written in one transaction at most; more wait for the next group."""
_JSON = [["content-type", "application/json"]]


@dataclass(frozen=True, slots=True)
class Submission:
    """One request, parsed, as the group writer needs it."""

    token_hash: str
    request: rules.TransferRequest
    keyed: tuple[str, str, str] | None = None
    """(caller, key, request hash) when the request carries an Idempotency-Key."""


def error_answer(error: PotluckError) -> Answer:
    """The answer the app's error handler gives for ``error`` under /api."""
    status, body = idempotency.error_answer(error)
    return Answer(status, [*_JSON, *([k, v] for k, v in error.headers.items())], body)


def _outcome_answer(outcome: idempotency.Replay | idempotency.Refusal) -> Answer:
    if isinstance(outcome, idempotency.Refusal):
        return error_answer(outcome.error)
    return Answer(
        outcome.status_code,
        [*outcome.headers, [idempotency.REPLAYED_HEADER, "true"]],
        outcome.body,
    )


class _RunAlone(Exception):
    """The group cannot be written as a whole; write its requests one by one."""


class GroupWriter:
    """Writes groups of submissions, each group in one transaction. Runs in a worker thread."""

    def __init__(self, database: Database, clock: Clock, *, path: str) -> None:
        self.database = database
        self.clock = clock
        self.path = path

    def write(self, group: list[Submission]) -> list[Answer]:
        """One answer per submission, in order. Commits before returning."""
        now = self.clock.now()
        try:
            return self._attempt(group, now)
        except (_RunAlone, IntegrityError, PotluckError) as error:
            if len(group) > 1:
                return [answer for one in group for answer in self.write([one])]
            if isinstance(error, PotluckError):
                # What the route answers when the books changed under it; nothing is
                # stored for the key, so a retry runs afresh.
                return [error_answer(error)]
            submission = group[0]
            if submission.keyed is None:
                raise
            return [_outcome_answer(idempotency.in_progress(submission.keyed[1]))]

    def _attempt(self, group: list[Submission], now: datetime) -> list[Answer]:
        answers: list[Answer | None] = [None] * len(group)
        with self.database.transaction() as session:
            holders, taken_over = self._keys(session, group, answers, now)
            posting_at, allowed = self._callers(session, group, answers, now)
            if posting_at:
                outcomes = posting.post_each(
                    session,
                    [group[i].request for i in posting_at],
                    now=now,
                    allowed_chain_ids=[c.keys() for c in allowed],
                )
                known: dict[int, str] = {}
                for chains in allowed:
                    known.update(chains)
                for index, answer in zip(
                    posting_at, _transfer_answers(session, outcomes, known), strict=True
                ):
                    answers[index] = answer
            done = [a for a in answers if a is not None]
            assert len(done) == len(group)
            entries = []
            for pair, index in holders.items():
                caller, key = pair
                digest = group[index].keyed[2]  # type: ignore[index]
                entries.append((caller, key, "POST", self.path, digest, done[index]))
            if not idempotency.record_done(session, entries, now=now, taken_over=taken_over):
                raise _RunAlone
        return done

    def _keys(
        self,
        session: Session,
        group: list[Submission],
        answers: list[Answer | None],
        now: datetime,
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], tuple[int, str]]]:
        """Answer the requests whose key is already stored; returns which request holds each
        new key, and the stored claims of runs that died, which those requests take over."""
        wanted = {s.keyed[:2] for s in group if s.keyed is not None}
        stored = idempotency.stored_keys(session, wanted)
        holders: dict[tuple[str, str], int] = {}
        taken_over: dict[tuple[str, str], tuple[int, str]] = {}
        for index, submission in enumerate(group):
            if submission.keyed is None:
                continue
            caller, key, digest = submission.keyed
            pair = (caller, key)
            if pair in holders:
                # Sent twice at once: the second waits for the first, as with the route.
                answers[index] = _outcome_answer(idempotency.in_progress(key))
                continue
            found = stored.get(pair)
            if found is not None:
                judged = idempotency.judge(
                    found, key, method="POST", path=self.path, digest=digest, now=now
                )
                if judged is not None:
                    answers[index] = _outcome_answer(judged)
                    continue
                taken_over[pair] = (found.id, found.lease_token)
            holders[pair] = index
        return holders, taken_over

    def _callers(
        self,
        session: Session,
        group: list[Submission],
        answers: list[Answer | None],
        now: datetime,
    ) -> tuple[list[int], list[dict[int, str]]]:
        """Check each remaining request's token, as ``deps.get_api_writer`` does; returns the
        requests that may post and, for each, the books its peer keeps."""
        hashes = {s.token_hash for s, a in zip(group, answers, strict=True) if a is None}
        # As for every API request: "last used" is written at most once a minute.
        tokens = people.tokens_in_use(session, hashes, now=now, touch_after=TOKEN_TOUCH_INTERVAL)
        chains_of: dict[int, dict[int, str]] = {}
        posting_at: list[int] = []
        allowed: list[dict[int, str]] = []
        for index, submission in enumerate(group):
            if answers[index] is not None:
                continue
            token = tokens.get(submission.token_hash)
            if token is None or token.revoked_at is not None:
                answers[index] = error_answer(
                    NotSignedIn("That API token is unknown or has been revoked.")
                )
                continue
            if token.scope != "read-write":
                answers[index] = error_answer(
                    Forbidden("This API token is read-only; create a read-write token to change.")
                )
                continue
            chains = chains_of.get(token.peer_id)
            if chains is None:
                chains = chains_of[token.peer_id] = books.stewarded_chains(session, token.peer_id)
            posting_at.append(index)
            allowed.append(chains)
        return posting_at, allowed


def _transfer_answers(
    session: Session,
    outcomes: list[rules.TransferRow | PotluckError],
    known_keys: dict[int, str],
) -> list[Answer]:
    rows = [o for o in outcomes if isinstance(o, rules.TransferRow)]
    keys = dict(known_keys)
    keys.update(books.chain_keys(session, {r.chain_id for r in rows} - keys.keys()))
    scales = accounts.exponents(session, {r.commodity for r in rows})
    return [
        error_answer(outcome)
        if isinstance(outcome, PotluckError)
        else Answer(
            201,
            _JSON,
            TransferOut.of(outcome, keys[outcome.chain_id], scales.get(outcome.commodity, 0))
            .model_dump_json()
            .encode(),
        )
        for outcome in outcomes
    ]


@dataclass
class _Queue:
    """The requests of one event loop waiting for the next group."""

    waiting: list[tuple[Submission, asyncio.Future[Answer]]] = field(default_factory=list)
    writing: bool = False
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(1))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class GroupCommitter:
    """Collects submissions on the event loop and has them written in groups, one group at a
    time, in a thread of its own (never waiting for a free worker behind routes that may be
    waiting for the write lock)."""

    def __init__(self, writer: GroupWriter) -> None:
        self.writer = writer
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, submission: Submission) -> Answer:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Answer] = loop.create_future()
        queue.waiting.append((submission, future))
        if not queue.writing:
            queue.writing = True
            # A context of its own: the group is nobody's request in particular.
            task = loop.create_task(self._drain(queue), context=contextvars.Context())
            queue.tasks.add(task)
            task.add_done_callback(queue.tasks.discard)
        return await future

    async def _drain(self, queue: _Queue) -> None:
        try:
            while queue.waiting:
                group = queue.waiting[:MAX_GROUP]
                del queue.waiting[:MAX_GROUP]
                try:
                    answers = await anyio.to_thread.run_sync(
                        self.writer.write, [s for s, _ in group], limiter=queue.limiter
                    )
                except Exception as error:  # noqa: BLE001 - handed to each request's own task
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), answer in zip(group, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            queue.writing = False


class TransferLane:
    """Pure ASGI middleware taking ``POST {prefix}/ledger/transfers`` with an API token off
    the ordinary route and into a ``GroupCommitter``. Sits outside the idempotency
    middleware, so the requests it passes on are handled there as usual."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/v1") -> None:
        self.app = app
        self.path = prefix + PATH
        self._committers: dict[int, GroupCommitter] = {}

    def _committer(self, scope: Scope) -> GroupCommitter:
        state = scope["app"].state
        database: Database = state.database
        committer = self._committers.get(id(database))
        if committer is None:
            writer = GroupWriter(database, state.clock, path=self.path)
            committer = self._committers[id(database)] = GroupCommitter(writer)
        return committer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = _bearer_secret(headers)
        keyed = headers.get(idempotency.HEADER.encode())
        key = keyed.decode("latin-1").strip() if keyed is not None else None
        if (
            token is None
            or not _is_json(headers.get(b"content-type", b""))
            or (key is not None and not idempotency.valid_key(key))
        ):
            await self.app(scope, receive, send)
            return
        body = await idempotency.read_body(receive)
        if body is None:
            return
        try:
            parsed = TransferIn.model_validate_json(body)
        except ValidationError:
            # The route names the problem in its own words.
            await self.app(scope, idempotency.replaying(body, receive), send)
            return
        submission = Submission(
            secret_hash(token),
            parsed.request(),
            None
            if key is None
            else (
                idempotency.caller_fingerprint(headers, scope.get("client")),
                key,
                idempotency.request_hash(
                    "POST",
                    scope["path"],
                    scope.get("query_string", b""),
                    headers.get(b"content-type", b""),
                    body,
                ),
            ),
        )
        answer = await self._committer(scope).submit(submission)
        await idempotency.send_answer(
            send,
            answer.status_code,
            [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers],
            answer.body,
        )


def _bearer_secret(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, secret = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def _is_json(content_type: bytes) -> bool:
    return content_type.split(b";", 1)[0].strip().lower() == b"application/json"


__all__ = [
    "MAX_GROUP",
    "PATH",
    "GroupCommitter",
    "GroupWriter",
    "Submission",
    "TransferLane",
    "error_answer",
]
