"""Idempotency keys for every changing API call (``Idempotency-Key`` header, as Stripe does).

A client that is unsure whether a POST, PUT, PATCH or DELETE under ``/api/v1`` went through
sends it again with the same key and gets the first answer back instead of a second effect.

How it stays honest:

1. Before the route runs, the key is *claimed* for the caller in its own short transaction:
   a row holding the request's hash and a lease. A second request with the key finds it: if the
   request differs it is refused (422, naming what differs); if the first is still running it
   gets 409 "in progress"; if the first finished, its stored answer is replayed.
2. When the route's transaction commits, a session hook marks the claim ``work_committed`` in
   that same transaction, so the claim knows for certain whether the work happened. Routes
   that can build their answer before committing (the books) store the whole answer there
   too (``respond``), so work and answer commit together.
3. Otherwise the answer is stored right after, before it is sent. An answer is never sent
   before it is stored, so whatever a client was told can be told again. Server errors whose
   work did not commit release the key, so a retry runs afresh.
4. A claim whose lease ran out with no committed work (the server died) may be taken over by a
   retry; the hook refuses to commit work under a lost lease, so two runs never both commit.
   A claim whose work committed but whose answer was lost in a crash answers 409 saying so.

Keys are kept for ``RETENTION`` (at least 72 hours) and then purged. An answer marked
``Cache-Control: no-store`` (a new API token's secret) is kept without its body: a retry is
told the request was carried out, and the secret never sits in this table.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    URL,
    Boolean,
    CheckConstraint,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.responses import JSONResponse, Response

from potluck.clock import Clock
from potluck.db import Base, Database
from potluck.errors import Conflict, ErrorBody, InvalidInput, PotluckError

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETENTION = timedelta(hours=72)
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
PURGE_EVERY_SECONDS = 600.0
# Headers that belong to one delivery, or carry a secret that must not sit in a table.
_UNSTORED_HEADERS = frozenset({b"set-cookie", b"date", b"server", b"content-length"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class IdempotencyRecord(Base):
    """One claimed key: the request it was first used for and, once known, the answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
        CheckConstraint("state IN ('started', 'done')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(80))
    """Who used the key: a hash of their API token or session, never the secret itself."""
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of method, path, query, content type and body."""
    state: Mapped[str] = mapped_column(String(8))
    work_committed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set in the same transaction as the route's work, so it is true exactly if that
    work is in the database."""
    lease_token: Mapped[str] = mapped_column(String(32))
    lease_until: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]


RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[assignment]

# Built once: every changing request runs some of these, and a statement built afresh costs
# SQLAlchemy more to compile-key than the database takes to run it.
_THIS_CLAIM = (RECORDS.c.id == bindparam("record_id")) & (
    RECORDS.c.lease_token == bindparam("lease")
)
_CLAIM = insert(RECORDS).returning(RECORDS.c.id)
_FIND = select(
    RECORDS.c.id,
    RECORDS.c.method,
    RECORDS.c.path,
    RECORDS.c.request_hash,
    RECORDS.c.state,
    RECORDS.c.work_committed,
    RECORDS.c.lease_token,
    RECORDS.c.lease_until,
    RECORDS.c.status_code,
    RECORDS.c.response_headers,
    RECORDS.c.response_body,
).where(RECORDS.c.caller == bindparam("caller"), RECORDS.c.key == bindparam("key"))
_TAKE_OVER = (
    update(RECORDS)
    .where(_THIS_CLAIM)
    .values(lease_token=bindparam("new_lease"), lease_until=bindparam("new_lease_until"))
)
_MARK_WORK = update(RECORDS).where(_THIS_CLAIM).values(work_committed=True)
_STORE_WITH_WORK = (
    update(RECORDS)
    .where(_THIS_CLAIM)
    .values(
        work_committed=True,
        state="done",
        status_code=bindparam("answer_status"),
        response_headers=bindparam("answer_headers", type_=RECORDS.c.response_headers.type),
        response_body=bindparam("answer_body", type_=RECORDS.c.response_body.type),
    )
)
_STORE = (
    update(RECORDS)
    .where(_THIS_CLAIM)
    .values(
        state="done",
        status_code=bindparam("answer_status"),
        response_headers=bindparam("answer_headers", type_=RECORDS.c.response_headers.type),
        response_body=bindparam("answer_body", type_=RECORDS.c.response_body.type),
        completed_at=bindparam("answer_at", type_=RECORDS.c.completed_at.type),
    )
)
_RELEASE = delete(RECORDS).where(_THIS_CLAIM, RECORDS.c.work_committed.is_(False))


@dataclass
class Claim:
    """The key the current request holds, shared with the route's thread through a context
    variable (a copy of the context, but the same object)."""

    record_id: int
    lease_token: str
    database_url: URL
    committed: bool = False
    stored: bool = False
    _marking: bool = field(default=False, repr=False)
    _storing: bool = field(default=False, repr=False)


_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "potluck_idempotency_claim", default=None
)


def current_claim() -> Claim | None:
    return _current.get()


class LeaseLost(Conflict):
    """The claim was taken over by a retry while this request was still running."""


@event.listens_for(Session, "before_commit")
def _mark_work(session: Session) -> None:
    claim = _current.get()
    if claim is None or claim.committed or session.get_bind().engine.url != claim.database_url:
        return
    if claim._storing:
        claim._marking = True
        return
    result = session.execute(_MARK_WORK, {"record_id": claim.record_id, "lease": claim.lease_token})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(
            "This request took too long and a retry with the same Idempotency-Key took it "
            "over; its work was not saved."
        )
    claim._marking = True


@event.listens_for(Session, "after_commit")
def _work_committed(_session: Session) -> None:
    claim = _current.get()
    if claim is not None and claim._marking:
        claim.committed = True
        claim._marking = False
        if claim._storing:
            claim.stored = True


@event.listens_for(Session, "after_rollback")
def _work_rolled_back(_session: Session) -> None:
    claim = _current.get()
    if claim is not None and not claim.committed:
        claim._marking = False
        claim._storing = False


def respond(
    session: Session,
    payload: BaseModel,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer with ``payload`` as JSON, storing the answer for the request's Idempotency-Key
    (if any) in ``session``'s transaction, so that work and answer commit together."""
    body = payload.model_dump_json().encode()
    response = Response(
        body, status_code=status_code, media_type="application/json", headers=headers
    )
    claim = _current.get()
    if claim is not None and not claim.committed:
        result = session.execute(
            _STORE_WITH_WORK,
            {
                "record_id": claim.record_id,
                "lease": claim.lease_token,
                "answer_status": status_code,
                "answer_headers": storable_headers(response.raw_headers),
                "answer_body": body,
            },
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(
                "This request took too long and a retry with the same Idempotency-Key took it "
                "over; its work was not saved."
            )
        claim._storing = True
    return response


def storable_headers(raw: list[tuple[bytes, bytes]]) -> list[list[str]]:
    return [
        [name.decode("latin-1"), value.decode("latin-1")]
        for name, value in raw
        if name.lower() not in _UNSTORED_HEADERS
    ]


def purge_expired(
    session: Session | Connection, *, now: datetime, retention: timedelta = RETENTION
) -> int:
    """Forget keys older than ``retention``. Returns how many were forgotten."""
    result = session.execute(delete(RECORDS).where(RECORDS.c.created_at < now - retention))
    return int(result.rowcount)  # type: ignore[attr-defined]


def withholds(headers: list[list[str]]) -> bool:
    """Whether an answer says it must not be kept (``Cache-Control: no-store``), as one that
    shows a new secret does: its key then keeps the status but not the body, and a retry is
    told to look the result up."""
    return any(
        name.lower() == "cache-control" and "no-store" in value.lower() for name, value in headers
    )


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def caller_fingerprint(headers: dict[bytes, bytes], client: tuple[str, int] | None) -> str:
    """Who is asking, as a hash of their credential: keys are scoped per caller, and the
    table never holds a token or session secret."""
    authorization = headers.get(b"authorization")
    if authorization:
        return "bearer:" + hashlib.sha256(authorization).hexdigest()[:40]
    cookies = headers.get(b"cookie", b"").decode("latin-1")
    jar = dict(part.strip().split("=", 1) for part in cookies.split(";") if "=" in part)
    for name, kind in (("potluck_session", "session"), ("potluck_csrf", "browser")):
        if jar.get(name):
            return f"{kind}:" + hashlib.sha256(jar[name].encode()).hexdigest()[:40]
    return "anonymous:" + (client[0] if client else "unknown")


def request_hash(method: str, path: str, query: bytes, content_type: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content_type, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Replay:
    status_code: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True)
class Refusal:
    error: PotluckError


Outcome = Claim | Replay | Refusal


def judge(
    found: Any, key: str, *, method: str, path: str, digest: str, now: datetime
) -> Replay | Refusal | None:
    """What a request gets when its key is already stored as ``found`` (a row of
    ``idempotency_keys``): the first answer again, a refusal, or None when the first run died
    before doing its work, so this request may take the key over."""
    if found.request_hash != digest:
        if (found.method, found.path) != (method, path):
            what = f"{found.method} {found.path}"
        else:
            what = "the same address with a different body or query"
        return Refusal(
            InvalidInput(
                f"Idempotency-Key '{key}' was already used for {what}; use a new key "
                "for a different request.",
                field="Idempotency-Key",
            )
        )
    if found.state == "done":
        if withholds(found.response_headers or []):
            return Refusal(
                Conflict(
                    f"The request with Idempotency-Key '{key}' was carried out, and its answer "
                    "held a secret that is shown only once, so it was not kept; look the "
                    "result up instead of repeating it."
                )
            )
        return Replay(
            found.status_code or 200,
            found.response_headers or [],
            found.response_body or b"",
        )
    if found.lease_until > now:
        return in_progress(key)
    if found.work_committed:
        return Refusal(
            Conflict(
                f"The request with Idempotency-Key '{key}' was carried out, but the "
                "server stopped before recording its answer; look the result up "
                "instead of repeating it."
            )
        )
    return None


def in_progress(key: str) -> Refusal:
    return Refusal(
        Conflict(f"A request with Idempotency-Key '{key}' is still in progress; retry in a moment.")
    )


@dataclass(frozen=True)
class Answer:
    """A whole answer, as stored for a key and as sent."""

    status_code: int
    headers: list[list[str]]
    body: bytes


def stored_keys(session: Session, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The stored rows for these (caller, key) pairs, for many requests in one query."""
    if not pairs:
        return {}
    ordered = sorted(pairs)
    if session.get_bind().dialect.name == "postgresql":
        # One lookup of the unique (caller, key) index per pair, whatever the planner
        # thinks of the table: one busy caller may hold three days of keys.
        found = session.execute(
            _PG_STORED_KEYS,
            {"callers": [c for c, _ in ordered], "keys": [k for _, k in ordered]},
        )
    else:
        found = session.execute(
            select(RECORDS.c.caller, RECORDS.c.key, *_FIND.selected_columns).where(
                RECORDS.c.caller.in_(sorted({c for c, _ in ordered})),
                RECORDS.c.key.in_(sorted({k for _, k in ordered})),
            )
        )
    return {(row.caller, row.key): row for row in found if (row.caller, row.key) in pairs}


_PG_STORED_KEYS = text(
    "SELECT r.caller, r.key, r.id, r.method, r.path, r.request_hash, r.state, "
    "r.work_committed, r.lease_token, r.lease_until, r.status_code, r.response_headers, "
    "r.response_body "
    "FROM unnest(CAST(:callers AS text[]), CAST(:keys AS text[])) AS wanted(caller, key) "
    "CROSS JOIN LATERAL (SELECT * FROM idempotency_keys AS k "
    "WHERE k.caller = wanted.caller AND k.key = wanted.key) AS r"
).columns(
    RECORDS.c.caller,
    RECORDS.c.key,
    *_FIND.selected_columns,
)


def record_done(
    session: Session,
    entries: Sequence[tuple[str, str, str, str, str, Answer]],
    *,
    now: datetime,
    taken_over: Mapping[tuple[str, str], tuple[int, str]] | None = None,
) -> bool:
    """Store finished answers in ``session``'s transaction, with the work they answer:
    entries are (caller, key, method, path, request hash, answer). A key in ``taken_over``
    (id and lease of a stored claim whose run died) is updated instead, if its lease is
    still the one read. Returns False when such a key was taken by someone else meanwhile."""
    fresh = []
    for caller, key, method, path, digest, answer in entries:
        stale = (taken_over or {}).get((caller, key))
        values = {
            "state": "done",
            "work_committed": True,
            "status_code": answer.status_code,
            "response_headers": answer.headers,
            "response_body": answer.body,
            "completed_at": now,
        }
        if stale is None:
            fresh.append(
                {
                    "caller": caller,
                    "key": key,
                    "method": method,
                    "path": path,
                    "request_hash": digest,
                    "lease_token": secrets.token_hex(16),
                    "lease_until": now,
                    "created_at": now,
                    **values,
                }
            )
            continue
        record_id, lease = stale
        taken = session.execute(
            update(RECORDS)
            .where(RECORDS.c.id == record_id, RECORDS.c.lease_token == lease)
            .values(lease_token=secrets.token_hex(16), lease_until=now, **values)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return False
    if fresh and session.get_bind().dialect.name == "postgresql":
        # One statement for the whole group: an executemany sends a statement per row.
        columns = {name: [row[name] for row in fresh] for name in _PG_DONE_COLUMNS}
        columns["response_headers"] = [json.dumps(h) for h in columns["response_headers"]]
        session.execute(_PG_INSERT_DONE, columns)
    elif fresh:
        session.execute(insert(RECORDS), fresh)
    return True


_PG_DONE_COLUMNS = {
    "caller": "text",
    "key": "text",
    "method": "text",
    "path": "text",
    "request_hash": "text",
    "state": "text",
    "work_committed": "boolean",
    "lease_token": "text",
    "lease_until": "timestamptz",
    "status_code": "integer",
    "response_headers": "json",
    "response_body": "bytea",
    "created_at": "timestamptz",
    "completed_at": "timestamptz",
}
_PG_INSERT_DONE = text(
    f"INSERT INTO idempotency_keys ({', '.join(_PG_DONE_COLUMNS)}) "  # noqa: S608 - fixed names
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _PG_DONE_COLUMNS.items())
    + ")"
)


class Keeper:
    """The database side of the middleware: claim, store, release. Runs in a worker thread."""

    def __init__(
        self, database: Database, clock: Clock, *, retention: timedelta, lease: timedelta
    ) -> None:
        self.database = database
        self.clock = clock
        self.retention = retention
        self.lease = lease
        self._last_purge = 0.0

    def claim(self, caller: str, key: str, method: str, path: str, digest: str) -> Outcome:
        now = self.clock.now()
        token = secrets.token_hex(16)
        # Bare connections: the key's bookkeeping needs none of the ORM, and must not set off
        # the session hooks that mark the route's work.
        try:
            with self.database.connection() as connection:
                if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
                    self._last_purge = time.monotonic()
                    purge_expired(connection, now=now, retention=self.retention)
                record_id = connection.execute(
                    _CLAIM,
                    {
                        "caller": caller,
                        "key": key,
                        "method": method,
                        "path": path,
                        "request_hash": digest,
                        "state": "started",
                        "work_committed": False,
                        "lease_token": token,
                        "lease_until": now + self.lease,
                        "created_at": now,
                    },
                ).scalar_one()
                return Claim(record_id, token, self.database.engine.url)
        except IntegrityError:
            pass
        with self.database.connection() as connection:
            found = connection.execute(_FIND, {"caller": caller, "key": key}).one_or_none()
            if found is None:
                # Purged between our insert and this read: rare enough to ask for a retry.
                return Refusal(Conflict("That Idempotency-Key was just released; retry."))
            judged = judge(found, key, method=method, path=path, digest=digest, now=now)
            if judged is not None:
                return judged
            taken = connection.execute(
                _TAKE_OVER,
                {
                    "record_id": found.id,
                    "lease": found.lease_token,
                    "new_lease": token,
                    "new_lease_until": now + self.lease,
                },
            )
            if taken.rowcount != 1:
                return in_progress(key)
            return Claim(found.id, token, self.database.engine.url)

    def store(self, claim: Claim, status_code: int, headers: list[list[str]], body: bytes) -> None:
        if withholds(headers):
            body = b""
        with self.database.connection() as connection:
            connection.execute(
                _STORE,
                {
                    "record_id": claim.record_id,
                    "lease": claim.lease_token,
                    "answer_status": status_code,
                    "answer_headers": headers,
                    "answer_body": body,
                    "answer_at": self.clock.now(),
                },
            )

    def release(self, claim: Claim) -> None:
        with self.database.connection() as connection:
            connection.execute(_RELEASE, {"record_id": claim.record_id, "lease": claim.lease_token})


def error_answer(error: PotluckError) -> tuple[int, bytes]:
    """The status and body the app's error handler gives ``error`` under /api."""
    body: ErrorBody = error.body()
    return error.status, bytes(JSONResponse(body.model_dump(exclude_none=True)).body)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for an app further in, once ``body`` was read here."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class IdempotencyMiddleware:
    """Pure ASGI middleware: wraps every changing request under ``prefix`` that carries an
    Idempotency-Key. Requests without the header pass straight through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str = "/api/v1",
        retention: timedelta = RETENTION,
        lease: timedelta = LEASE,
    ) -> None:
        if retention < RETENTION:
            msg = f"Idempotency keys must be kept at least {RETENTION}."
            raise ValueError(msg)
        self.app = app
        self.prefix = prefix
        self.retention = retention
        self.lease = lease
        self._keepers: dict[int, Keeper] = {}

    def _keeper(self, scope: Scope) -> Keeper:
        state = scope["app"].state
        database: Database = state.database
        keeper = self._keepers.get(id(database))
        if keeper is None:
            keeper = Keeper(database, state.clock, retention=self.retention, lease=self.lease)
            self._keepers[id(database)] = keeper
        return keeper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER.encode())
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not valid_key(key):
            status, refusal = error_answer(
                InvalidInput(
                    f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters.",
                    field="Idempotency-Key",
                )
            )
            await send_json(send, status, refusal)
            return

        body = await read_body(receive)
        if body is None:
            return
        keeper = self._keeper(scope)
        digest = request_hash(
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            headers.get(b"content-type", b""),
            body,
        )
        caller = caller_fingerprint(headers, scope.get("client"))
        outcome = await anyio.to_thread.run_sync(
            keeper.claim, caller, key, scope["method"], scope["path"], digest
        )
        if isinstance(outcome, Refusal):
            status, error_body = error_answer(outcome.error)
            await send_json(send, status, error_body)
            return
        if isinstance(outcome, Replay):
            replay_headers = [
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in outcome.headers
            ]
            replay_headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
            await send_answer(send, outcome.status_code, replay_headers, outcome.body)
            return
        await self._run(scope, body, receive, send, keeper=keeper, claim=outcome)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        *,
        keeper: Keeper,
        claim: Claim,
    ) -> None:
        start: Message | None = None
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        token = _current.set(claim)
        failure: BaseException | None = None
        try:
            await self.app(scope, replaying(body, receive), capture)
        except BaseException as error:  # noqa: BLE001 - re-raised below, after releasing
            failure = error
        finally:
            # Before touching the key again: the worker thread copies this context, and the
            # commit hook must not mistake the key's own bookkeeping for the route's work.
            _current.reset(token)
        if failure is not None:
            if not claim.committed:
                await anyio.to_thread.run_sync(keeper.release, claim)
            raise failure
        assert start is not None
        status = int(start["status"])
        raw_headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        response_body = b"".join(parts)
        if status >= 500 and not claim.committed:
            await anyio.to_thread.run_sync(keeper.release, claim)
        elif not claim.stored:
            await anyio.to_thread.run_sync(
                keeper.store, claim, status, storable_headers(raw_headers), response_body
            )
        await send_answer(send, status, raw_headers, response_body, length_known=True)


async def send_answer(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    length_known: bool = False,
) -> None:
    if not length_known or not any(name.lower() == b"content-length" for name, _ in headers):
        headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, body: bytes) -> None:
    await send_answer(send, status, [(b"content-type", b"application/json")], body)
