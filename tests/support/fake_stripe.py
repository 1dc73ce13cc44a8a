"""A small fake of Stripe's API, served over real HTTP on a loopback port, for the tests.

It speaks Stripe's wire format for what Potluck uses, so the official ``stripe`` library runs
against it unchanged: form-encoded bodies with bracket notation (``metadata[key]=v``,
``expand[0]=...``), Bearer authentication with the secret key, ``Idempotency-Key`` honoured
(the same key and parameters replay the first answer, other parameters are refused), JSON
objects with ``id``, ``object`` and ``livemode``, amounts in the smallest unit, card errors as
HTTP 402 ``{"error": {"type": "card_error", ...}}``, balance transactions with ``fee``.

Its events are signed exactly as Stripe signs webhooks (``Stripe-Signature: t=<ts>,v1=<hex
HMAC-SHA256 of "<ts>.<payload>">``) and handed to whatever the test says delivers them.

Cards behave as Stripe's test cards do: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is
declined, 4000 0000 0000 9995 has insufficient funds, 4000 0027 6000 3184 needs authentication
(a decline off-session), and 4000 0000 0000 0259 succeeds and is then disputed.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET_KEY = "sk_test_potluck_fake_0123456789"
WEBHOOK_SECRET = "whsec_potluck_fake_0123456789"
API_VERSION = "2026-10-28.endive"

Deliver = Callable[[bytes, dict[str, str]], int]
"""Sends one webhook (raw body, headers) and answers the HTTP status it got."""


@dataclass(frozen=True)
class TestCard:
    brand: str
    outcome: str
    """``succeed``, ``decline`` or ``dispute`` (succeed, then disputed)."""
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


CARDS = {
    "4242424242424242": TestCard("visa", "succeed"),
    "5555555555554444": TestCard("mastercard", "succeed"),
    "4000000000000002": TestCard(
        "visa", "decline", "card_declined", "generic_decline", "Your card was declined."
    ),
    "4000000000009995": TestCard(
        "visa",
        "decline",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000002760003184": TestCard(
        "visa",
        "decline",
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
    "4000000000000259": TestCard("visa", "dispute"),
}


def nested_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation back into nested values: ``a[b][0]=x`` is {"a": {"b": [x]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + ([part.rstrip("]") for part in rest.split("[")] if rest else [])
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    nested: dict[str, Any] = _lists(root)
    return nested


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {key: _lists(item) for key, item in value.items()}
        if converted and all(key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted
    return value


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with ``payload``."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


class StripeFailure(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


def _missing(kind: str, ident: str, param: str = "id") -> StripeFailure:
    return StripeFailure(
        404,
        {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "param": param,
            "message": f"No such {kind}: '{ident}'",
        },
    )


@dataclass
class FakeStripe:
    """The fake's state; everything a test may look at is a plain dict or list."""

    fee_percent_tenths: int = 29
    """Stripe's fee: 2.9 % (in tenths of a percent) plus ``fee_fixed``."""
    fee_fixed: int = 30
    settlement_currency: str | None = None
    """When set, balance transactions are in this currency at ``settlement_rate``."""
    settlement_rate: tuple[int, int] = (1, 1)
    hold_intents: bool = False
    """When true, new PaymentIntents stay ``processing`` until :meth:`finish_intent`."""
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests_seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    undelivered: list[dict[str, Any]] = field(default_factory=list)
    _idempotency: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    base_url: str = ""

    # --- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.objects.clear()
            self.requests_seen.clear()
            self.events.clear()
            self.undelivered.clear()
            self._idempotency.clear()
            self.hold_intents = False
            self.settlement_currency = None
            self.settlement_rate = (1, 1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._numbers):010d}"

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of one kind (``payment_intent``), in creation order."""
        with self._lock:
            return [obj for obj in self.objects.values() if obj["object"] == kind]

    def _get(self, kind: str, ident: str) -> dict[str, Any]:
        obj = self.objects.get(ident)
        if obj is None or obj["object"] != kind:
            raise _missing(kind, ident)
        return obj

    def _emit(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": self._id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.events.append(event)
        self.undelivered.append(event)
        return event

    # --- what Stripe.js and the dashboard would do --------------------------------------

    def card_method(self, number: str, customer: str | None = None) -> str:
        """A PaymentMethod for a test card, as Stripe.js makes one; attached to ``customer``."""
        with self._lock:
            card = CARDS[number]
            method = self._store(
                {
                    "id": self._id("pm"),
                    "object": "payment_method",
                    "type": "card",
                    "card": {
                        "brand": card.brand,
                        "last4": number[-4:],
                        "exp_month": 12,
                        "exp_year": 2034,
                        "country": "US",
                        "funding": "credit",
                    },
                    "customer": customer,
                    "created": int(time.time()),
                    "livemode": False,
                    "metadata": {},
                    "_number": number,
                }
            )
            return str(method["id"])

    def confirm_setup_intent(self, setup_intent_id: str, number: str) -> None:
        """Finish a SetupIntent with a test card, as Stripe.js does in the donor's browser."""
        with self._lock:
            intent = self._get("setup_intent", setup_intent_id)
            intent["payment_method"] = self.card_method(number, intent["customer"])
            intent["status"] = "succeeded"
            self._emit("setup_intent.succeeded", intent)

    def finish_intent(self, intent_id: str) -> None:
        """Let a held (processing) PaymentIntent succeed, as a bank debit eventually does."""
        with self._lock:
            intent = self._get("payment_intent", intent_id)
            self._succeed(intent, CARDS["4242424242424242"])

    def dispute(self, intent_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        with self._lock:
            intent = self._get("payment_intent", intent_id)
            charge = self._get("charge", intent["latest_charge"])
            charge["disputed"] = True
            dispute = self._store(
                {
                    "id": self._id("dp"),
                    "object": "dispute",
                    "amount": charge["amount"],
                    "currency": charge["currency"],
                    "charge": charge["id"],
                    "payment_intent": intent["id"],
                    "reason": reason,
                    "status": "needs_response",
                    "created": int(time.time()),
                    "livemode": False,
                    "metadata": {},
                }
            )
            return self._emit("charge.dispute.created", dispute)

    def close_dispute(self, intent_id: str, *, won: bool) -> dict[str, Any]:
        """Close the intent's open dispute as won (the money comes back) or lost."""
        with self._lock:
            intent = self._get("payment_intent", intent_id)
            dispute = next(
                o
                for o in self.objects.values()
                if o.get("object") == "dispute"
                and o.get("payment_intent") == intent["id"]
                and o.get("status") == "needs_response"
            )
            dispute["status"] = "won" if won else "lost"
            return self._emit("charge.dispute.closed", dispute)

    def refund(self, intent_id: str, amount: int | None = None) -> dict[str, Any]:
        with self._lock:
            intent = self._get("payment_intent", intent_id)
            charge = self._get("charge", intent["latest_charge"])
            charge["amount_refunded"] += charge["amount"] if amount is None else amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return self._emit("charge.refunded", charge)

    # --- webhooks ------------------------------------------------------------------------

    def signed(
        self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET
    ) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(event, indent=2).encode()
        return payload, {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }

    def deliver(self, target: Deliver | str, *, types: tuple[str, ...] | None = None) -> list[int]:
        """Send the events not yet delivered, in order, to ``target`` (a URL, or a function
        that posts them). Events the target refuses stay undelivered, as Stripe retries them."""
        with self._lock:
            pending = [e for e in self.undelivered if types is None or e["type"] in types]
        statuses = []
        for event in pending:
            payload, headers = self.signed(event)
            if isinstance(target, str):
                status = requests.post(
                    target, data=payload, headers=headers, timeout=10
                ).status_code
            else:
                status = target(payload, headers)
            statuses.append(status)
            if 200 <= status < 300:
                with self._lock:
                    self.undelivered.remove(event)
        return statuses

    # --- the API -------------------------------------------------------------------------

    def _fee(self, amount: int) -> int:
        return amount * self.fee_percent_tenths // 1000 + self.fee_fixed

    def _succeed(self, intent: dict[str, Any], card: TestCard) -> None:
        amount = intent["amount"]
        currency = intent["currency"]
        settled_amount = amount
        settled_currency = currency
        if self.settlement_currency is not None:
            numerator, denominator = self.settlement_rate
            settled_amount = amount * numerator // denominator
            settled_currency = self.settlement_currency.lower()
        fee = self._fee(settled_amount)
        charge_id = self._id("ch")
        balance = self._store(
            {
                "id": self._id("txn"),
                "object": "balance_transaction",
                "amount": settled_amount,
                "currency": settled_currency,
                "fee": fee,
                "net": settled_amount - fee,
                "fee_details": [
                    {
                        "amount": fee,
                        "currency": settled_currency,
                        "type": "stripe_fee",
                        "description": "Stripe processing fees",
                        "application": None,
                    }
                ],
                "source": charge_id,
                "status": "available",
                "type": "charge",
                "created": int(time.time()),
            }
        )
        charge = self._store(
            {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "currency": currency,
                "customer": intent["customer"],
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "balance_transaction": balance["id"],
                "metadata": dict(intent["metadata"]),
                "paid": True,
                "captured": True,
                "refunded": False,
                "disputed": False,
                "status": "succeeded",
                "outcome": {"type": "authorized", "network_status": "approved_by_network"},
                "created": int(time.time()),
                "livemode": False,
            }
        )
        intent.update(
            status="succeeded",
            amount_received=amount,
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", intent)
        if card.outcome == "dispute":
            self.dispute(intent["id"])

    def _decline(self, intent: dict[str, Any], card: TestCard) -> StripeFailure:
        charge_id = self._id("ch")
        error = {
            "type": "card_error",
            "code": card.code,
            "decline_code": card.decline_code,
            "message": card.message,
            "charge": charge_id,
            "doc_url": f"https://docs.stripe.com/error-codes/{card.code}",
            "request_log_url": f"https://dashboard.stripe.com/test/logs/{self._id('req')}",
        }
        intent.update(
            status="requires_payment_method",
            last_payment_error={**error, "payment_method": {"id": intent["payment_method"]}},
        )
        self._emit("payment_intent.payment_failed", intent)
        return StripeFailure(402, {**error, "payment_intent": json.loads(json.dumps(intent))})

    def create_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("amount", "currency"):
            if name not in params:
                raise StripeFailure(
                    400,
                    {
                        "type": "invalid_request_error",
                        "code": "parameter_missing",
                        "param": name,
                        "message": f"Missing required param: {name}.",
                    },
                )
        amount = int(params["amount"])
        if amount < 50:
            raise StripeFailure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "amount_too_small",
                    "param": "amount",
                    "message": "Amount must be at least 50 cents.",
                },
            )
        currency = str(params["currency"]).lower()
        if currency == "isk" and amount % 100:
            # Stripe's answer since ISK became effectively zero-decimal (its API still counts
            # hundredths of a krona).
            raise StripeFailure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "invalid_charge_amount_no_decimal_compatible",
                    "param": "amount",
                    "message": "Invalid amount. Currency ISK has become effectively "
                    "zero-decimal and charged amounts must be evenly divisible by 100.",
                },
            )
        if currency in ("bhd", "jod", "kwd", "omr", "tnd") and amount % 10:
            raise StripeFailure(
                400,
                {
                    "type": "invalid_request_error",
                    "param": "amount",
                    "message": "Amounts in three-decimal currencies must end in 0.",
                },
            )
        method_id = params.get("payment_method")
        method = self._get("payment_method", method_id) if method_id else None
        customer = params.get("customer")
        if customer:
            self._get("customer", customer)
        if method is not None and method.get("customer") != customer:
            raise StripeFailure(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "payment_method",
                    "message": f"The payment method {method_id} does not belong to {customer}.",
                },
            )
        intent = self._store(
            {
                "id": self._id("pi"),
                "object": "payment_intent",
                "amount": amount,
                "amount_received": 0,
                "currency": str(params["currency"]).lower(),
                "customer": customer,
                "payment_method": method_id,
                "description": params.get("description"),
                "metadata": dict(params.get("metadata") or {}),
                "status": "requires_confirmation",
                "capture_method": "automatic",
                "confirmation_method": "automatic",
                "latest_charge": None,
                "last_payment_error": None,
                "off_session": params.get("off_session") == "true",
                "created": int(time.time()),
                "livemode": False,
            }
        )
        intent["client_secret"] = f"{intent['id']}_secret_fake"
        if params.get("confirm") == "true" and method is not None:
            card = CARDS.get(method["_number"], CARDS["4242424242424242"])
            if card.outcome == "decline":
                raise self._decline(intent, card)
            if self.hold_intents:
                intent["status"] = "processing"
                self._emit("payment_intent.processing", intent)
            else:
                self._succeed(intent, card)
        return intent

    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        shown = json.loads(json.dumps(obj))
        for path in paths:
            node = shown
            for part in path.split("."):
                value = node.get(part)
                if isinstance(value, str) and value in self.objects:
                    value = json.loads(json.dumps(self.objects[value]))
                    node[part] = value
                if not isinstance(value, dict):
                    break
                node = value
        public: dict[str, Any] = _public(shown)
        return public

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One API call, under the lock; raises StripeFailure for Stripe's error answers."""
        parts = path.strip("/").split("/")[1:]
        expand = list(params.pop("expand", []) or [])
        with self._lock:
            self.requests_seen.append((method, path, params))
            match (method, parts):
                case ("POST", ["customers"]):
                    obj = self._store(
                        {
                            "id": self._id("cus"),
                            "object": "customer",
                            "email": params.get("email"),
                            "name": params.get("name"),
                            "metadata": dict(params.get("metadata") or {}),
                            "created": int(time.time()),
                            "livemode": False,
                        }
                    )
                case ("GET", ["customers", ident]):
                    obj = self._get("customer", ident)
                case ("POST", ["setup_intents"]):
                    if params.get("customer"):
                        self._get("customer", params["customer"])
                    ident = self._id("seti")
                    obj = self._store(
                        {
                            "id": ident,
                            "object": "setup_intent",
                            "client_secret": f"{ident}_secret_fake",
                            "customer": params.get("customer"),
                            "payment_method": None,
                            "status": "requires_payment_method",
                            "usage": params.get("usage", "off_session"),
                            "metadata": dict(params.get("metadata") or {}),
                            "created": int(time.time()),
                            "livemode": False,
                        }
                    )
                case ("GET", ["setup_intents", ident]):
                    obj = self._get("setup_intent", ident)
                case ("GET", ["payment_methods", ident]):
                    obj = self._get("payment_method", ident)
                case ("POST", ["payment_intents"]):
                    obj = self.create_payment_intent(params)
                case ("GET", ["payment_intents", ident]):
                    obj = self._get("payment_intent", ident)
                case ("GET", ["charges", ident]):
                    obj = self._get("charge", ident)
                case ("GET", ["balance_transactions", ident]):
                    obj = self._get("balance_transaction", ident)
                case _:
                    raise StripeFailure(
                        404,
                        {
                            "type": "invalid_request_error",
                            "message": f"Unrecognized request URL ({method}: {path}).",
                        },
                    )
            return self._expand(obj, expand)

    # --- HTTP ----------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if authorization != f"Bearer {SECRET_KEY}":
            return _error(
                401,
                {
                    "type": "invalid_request_error",
                    "message": f"Invalid API Key provided: {authorization[7:15]}***",
                },
            )
        body = await request.body()
        params = nested_form(parse_qsl(body.decode(), keep_blank_values=True))
        params.update(nested_form(parse_qsl(request.url.query, keep_blank_values=True)))
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(
            f"{request.method} {request.url.path} ".encode() + body
        ).hexdigest()
        if request.method == "POST" and key:
            with self._lock:
                known = self._idempotency.get(key)
                if known is None:
                    # Claimed while this request runs; a concurrent twin gets Stripe's 409.
                    self._idempotency[key] = (fingerprint, 0, b"")
            if known is not None:
                if known[1] == 0:
                    return _error(
                        409,
                        {
                            "type": "idempotency_error",
                            "message": "There is currently another in-progress request using "
                            "this Stripe-Idempotency-Key. Please try again later.",
                        },
                    )
                if known[0] != fingerprint:
                    return _error(
                        400,
                        {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with. Try using a key "
                            f"other than '{key}' if you meant to execute a different request.",
                        },
                    )
                return Response(
                    known[2],
                    status_code=known[1],
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
                )
        try:
            answer = self.handle(request.method, request.url.path, params)
            status, content = 200, json.dumps(answer).encode()
        except StripeFailure as failure:
            status, content = failure.status, json.dumps({"error": failure.error}).encode()
        if request.method == "POST" and key:
            with self._lock:
                self._idempotency[key] = (fingerprint, status, content)
        headers = {"Request-Id": self._id("req"), "Stripe-Version": API_VERSION}
        if key:
            headers["Idempotency-Key"] = key
        return Response(content, status_code=status, media_type="application/json", headers=headers)

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/{path:path}", self._endpoint, methods=["GET", "POST", "DELETE"])]
        )

    def payment_intents(self) -> list[dict[str, Any]]:
        return self.of_kind("payment_intent")

    def creates(self, resource: str) -> int:
        """How many create calls for ``resource`` (``payment_intents``) reached the fake's
        handler: replays of an idempotency key are not counted."""
        with self._lock:
            return sum(
                1
                for method, path, _ in self.requests_seen
                if method == "POST" and path == f"/v1/{resource}"
            )


def _public(obj: Any) -> Any:
    """Drop the fake's private bookkeeping (keys starting with ``_``)."""
    if isinstance(obj, dict):
        return {key: _public(value) for key, value in obj.items() if not key.startswith("_")}
    if isinstance(obj, list):
        return [_public(item) for item in obj]
    return obj


def _error(status: int, error: dict[str, Any]) -> Response:
    return JSONResponse({"error": error}, status_code=status)


@contextmanager
def serve(fake: FakeStripe | None = None) -> Iterator[FakeStripe]:
    """Run ``fake`` on a free loopback port in a thread; its ``base_url`` says where."""
    fake = fake or FakeStripe()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake.asgi(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            msg = "The fake Stripe server did not start."
            raise RuntimeError(msg)
        time.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
