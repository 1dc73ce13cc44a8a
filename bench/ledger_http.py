"""How many transfers per second the API takes, one transfer per request, all against one hot
account that may not go below zero.

Run from the repository root::

    .venv/bin/python -m bench.ledger_http [--engine sqlite|postgresql|both] [--runs 3]

Goal (issue 3): at least 1,000 requests/s with concurrent clients and the no-negative rule
holding. Each run credits the hot account with fewer units than the requests ask for, so the
last requests must be refused; the run checks that exactly the affordable ones went through
and that the balance ends at exactly zero. The baseline, measured in the same run, is the
same server answering a read of one transfer through the ordinary route.

The postings take the group-commit lane (``potluck.ledger.lane``): every request in flight
while one group is written goes into the next group, one transaction each. The server runs
one worker process by default, as ``potluck serve`` does; ``--workers 2`` measures two
processes, whose groups then take turns at the database's write lock (or the hot account's
row lock on PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

import httpx
import uvloop

from bench.ledger_common import NOW, SeededBooks, database_for, load, machine, seed_books
from potluck.db import Database
from potluck.ledger.models import Account
from potluck.ledger.rules import TransferRequest
from potluck.ledger.service import posting
from potluck.people import service as people
from potluck.people.models import Peer
from tests.support.books import assert_books_verify

GOAL = 1000.0
REFUSED_PER_RUN = 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(database_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "POTLUCK_DATABASE_URL": database_url,
        "POTLUCK_SECRET_KEY": "bench-" + "x" * 40,
        "POTLUCK_VAR_DIR": tempfile.mkdtemp(prefix="potluck-bench-var-"),
        "POTLUCK_BASE_URL": url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "potluck.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log",
         # What `potluck serve` picks by itself; named here so a missing one fails loudly.
         "--loop", "uvloop", "--http", "httptools"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/commodities", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    msg = "The server did not start."
    raise RuntimeError(msg)


def token_for(database: Database, books: SeededBooks) -> str:
    with database.transaction() as session:
        peer = session.get(Peer, books.steward_id)
        assert peer is not None
        return people.create_token(session, peer, name="bench", scope="read-write", now=NOW).secret


def credit(database: Database, books: SeededBooks, amount: int, tag: str) -> None:
    with database.transaction() as session:
        posting.post_transfer(
            session,
            TransferRequest(tag, "transfer", books.given_ids[0], books.funds_id, amount),
            now=NOW,
        )


def balance(database: Database, books: SeededBooks) -> int:
    with database.transaction(write=False) as session:
        funds = session.get(Account, books.funds_id)
        assert funds is not None
        return funds.credits_posted - funds.debits_posted


class Connection:
    """A bare HTTP/1.1 keep-alive connection: the load generator shares the machine's cores
    with the server, so it must cost as little as possible (httpx costs more than the
    server's own work here)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, _, port = url.removeprefix("http://").partition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        # The whole head at once, and the body length picked out of it as bytes.
        answer = await self.reader.readuntil(b"\r\n\r\n")
        at = answer.lower().find(b"\r\ncontent-length:")
        length = int(answer[at + 17 : answer.index(b"\r\n", at + 2)]) if at >= 0 else 0
        await self.reader.readexactly(length)
        return int(answer[9:12])

    def close(self) -> None:
        self.writer.close()


async def fire(
    url: str,
    token: str,
    *,
    books: SeededBooks,
    tag: str,
    requests: int,
    clients: int,
    keyed: bool,
) -> tuple[float, Counter[int]]:
    statuses: Counter[int] = Counter()
    pending = list(range(requests))
    pending.reverse()
    connections = [await Connection.open(url) for _ in range(clients)]

    async def worker(connection: Connection) -> None:
        while pending:
            number = pending.pop()
            tid = f"{tag}-{number}"
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if keyed:
                headers["Idempotency-Key"] = tid
            body = json.dumps(
                {"id": tid, "debit_account_id": books.funds_id,
                 "credit_account_id": books.world_id, "amount": 1}
            ).encode()  # fmt: skip
            statuses[
                await connection.request("POST", "/api/v1/ledger/transfers", headers, body)
            ] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return requests / elapsed, statuses


async def read_rate(url: str, transfer_id: str, requests: int, clients: int) -> float:
    connections = [await Connection.open(url) for _ in range(clients)]
    per_client = requests // clients

    async def worker(connection: Connection) -> None:
        for _ in range(per_client):
            await connection.request("GET", f"/api/v1/ledger/transfers/{transfer_id}", {}, b"")

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return per_client * clients / elapsed


def run(engine: str, runs: int, requests: int, clients: int, workers: int) -> None:
    with database_for(engine) as database:
        books = seed_books(database, donors=2)
        token = token_for(database, books)
        process, url = start_server(database.url, workers)
        try:
            rates: dict[bool, list[float]] = {True: [], False: []}
            for run_number in range(runs):
                for keyed in (True, False):
                    tag = f"r{run_number}-{'k' if keyed else 'n'}"
                    affordable = requests - REFUSED_PER_RUN
                    credit(database, books, affordable, f"credit-{tag}")
                    rate, statuses = uvloop.run(
                        fire(
                            url,
                            token,
                            books=books,
                            tag=tag,
                            requests=requests,
                            clients=clients,
                            keyed=keyed,
                        )
                    )
                    assert statuses == Counter({201: affordable, 409: REFUSED_PER_RUN}), statuses
                    assert balance(database, books) == 0
                    rates[keyed].append(rate)
            baseline = statistics.median(
                uvloop.run(read_rate(url, "r0-k-0", requests, clients)) for _ in range(runs)
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        started = time.perf_counter()
        assert_books_verify(database)
        verify_s = time.perf_counter() - started
    keyed_rate = statistics.median(rates[True])
    plain_rate = statistics.median(rates[False])
    print(f"\n{engine}: one transfer per request, {clients} concurrent clients, one hot account")
    print(f"  uvicorn workers: {workers}; {requests:,} requests per run, {runs} runs")
    print("  with Idempotency-Key:    " + ", ".join(f"{r:,.0f}/s" for r in rates[True]))
    print("  without:                 " + ", ".join(f"{r:,.0f}/s" for r in rates[False]))
    print(f"  median with key         {keyed_rate:>8,.0f} requests/s   (goal {GOAL:,.0f}/s)")
    print(f"  median without key      {plain_rate:>8,.0f} requests/s")
    print(f"  baseline (GET one transfer) {baseline:>8,.0f} requests/s")
    print(f"  ratio to baseline       {keyed_rate / baseline:>8.2f} (with key), "
          f"{plain_rate / baseline:.2f} (without)")  # fmt: skip
    print(f"  {load()}")
    print(f"  no-negative held: exactly {REFUSED_PER_RUN} refused per run, balance 0; "
          f"books verified in {verify_s:.2f} s")  # fmt: skip
    if keyed_rate >= GOAL:
        print("  MEETS the goal.")
        return
    print(f"  SHORT of the goal by {GOAL - keyed_rate:,.0f}/s ({load()}).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="as `potluck serve` (default 1)")
    arguments = parser.parse_args()
    print(f"Machine: {machine()}")
    engines = ("sqlite", "postgresql") if arguments.engine == "both" else (arguments.engine,)
    for engine in engines:
        run(engine, arguments.runs, arguments.requests, arguments.clients, arguments.workers)


if __name__ == "__main__":
    main()
