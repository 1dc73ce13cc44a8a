"""The server is killed with SIGKILL again and again while a client streams transfers: every
acknowledged transfer survives, none is applied twice, and the books verify."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from potluck.db import Database
from potluck.ledger.models import Account, Transfer
from tests.ledger.factories import make_books, make_steward, make_token
from tests.people.factories import make_peer
from tests.support.books import assert_books_verify

TRANSFERS = 90
KILLS = 3
AMOUNT = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """``potluck.app`` under uvicorn in a child process that can be killed outright."""

    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "POTLUCK_DATABASE_URL": database_url,
            "POTLUCK_SECRET_KEY": "crash-test-" + "x" * 40,
            "POTLUCK_VAR_DIR": str(var_dir),
            "POTLUCK_BASE_URL": self.url,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.kills = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "potluck.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/commodities", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        msg = "The server did not start within 30 s."
        raise AssertionError(msg)

    def ensure_running(self) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.start()

    def kill(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                self.kills += 1

    def stop(self) -> None:
        self.kill()


def submit(server: Server, headers: dict[str, str], body: dict[str, object]) -> None:
    """Send until the server gives a definite answer, restarting it after each kill."""
    keyed = {**headers, "Idempotency-Key": f"key-{body['id']}"}
    while True:
        server.ensure_running()
        try:
            answer = httpx.post(
                f"{server.url}/api/v1/ledger/transfers", json=body, headers=keyed, timeout=10
            )
        except httpx.TransportError:
            continue
        if answer.status_code == 201:
            return
        if answer.status_code == 409 and "in progress" in answer.text:
            # The killed server's claim on the key lasts its lease; the transfer id is an
            # idempotency key of its own, so retry on that alone.
            keyed = headers
            continue
        if answer.status_code == 409 and "recording its answer" in answer.text:
            found = httpx.get(f"{server.url}/api/v1/ledger/transfers/{body['id']}", timeout=10)
            assert found.status_code == 200
            return
        msg = f"Unexpected answer {answer.status_code}: {answer.text}"
        raise AssertionError(msg)


class TestServerKilledDuringAStream:
    def test_acknowledged_transfers_survive_exactly_once(
        self, database: Database, tmp_path: Path
    ) -> None:
        with database.transaction() as session:
            books = make_books(session)
            steward = make_peer(session)
            make_steward(session, books.project, steward)
            headers = make_token(session, steward)
        server = Server(database.url, tmp_path / "var")
        acknowledged: list[str] = []
        rng = random.Random(3)
        done = threading.Event()

        def killer() -> None:
            while server.kills < KILLS and not done.is_set():
                time.sleep(rng.uniform(0.2, 0.6))
                server.kill()

        server.start()
        murderer = threading.Thread(target=killer)
        murderer.start()
        try:
            for number in range(TRANSFERS):
                body = {
                    "id": f"stream-{number}",
                    "debit_account_id": books.given.id,
                    "credit_account_id": books.funds.id,
                    "amount": AMOUNT,
                }
                submit(server, headers, body)
                acknowledged.append(str(body["id"]))
            done.set()
            murderer.join()
        finally:
            done.set()
            server.stop()
        assert server.kills >= 1

        with database.transaction(write=False) as session:
            stored = session.scalars(select(Transfer.id)).all()
            funds = session.get(Account, books.funds.id)
            assert funds is not None
            assert sorted(stored) == sorted(acknowledged)
            assert funds.credits_posted == AMOUNT * len(acknowledged)
        assert_books_verify(database)
