"""A throwaway PostgreSQL cluster started from the installed server binaries.

Used by the tests and the benchmarks: ``initdb`` into a temporary folder, ``pg_ctl start`` on
a free loopback port with fsync off, torn down afterwards. When running as root (CI), the
server runs as the ``postgres`` system user (or ``nobody``), since PostgreSQL refuses root.
Set ``POTLUCK_TEST_POSTGRES_URL`` to use an existing server instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

SUPERUSER = "potluck"


def find_binaries() -> Path:
    override = os.environ.get("POTLUCK_PG_BINDIR")
    if override:
        return Path(override)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install Debian's "
        "'postgresql' package, set POTLUCK_PG_BINDIR, or set POTLUCK_TEST_POSTGRES_URL."
    )
    raise RuntimeError(msg)


def _version_key(path: Path) -> int:
    try:
        return int(path.parent.name)
    except ValueError:
        return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    msg = "Running as root, but there is no 'postgres' or 'nobody' user to run PostgreSQL as."
    raise RuntimeError(msg)


class Cluster:
    def __init__(self, url: str, stop: list[str] | None = None) -> None:
        self.url = url
        self._stop = stop

    def admin_url(self) -> str:
        return self.url

    def database_url(self, name: str) -> str:
        base, _, _ = self.url.rpartition("/")
        return f"{base}/{name}"

    def execute(self, statement: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(statement.encode())

    def stop(self) -> None:
        if self._stop:
            subprocess.run(self._stop, check=False, capture_output=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    existing = os.environ.get("POTLUCK_TEST_POSTGRES_URL")
    if existing:
        yield Cluster(existing)
        return
    bindir = find_binaries()
    prefix = _run_as()
    root = Path(tempfile.mkdtemp(prefix="potluck-pg-"))
    data = root / "data"
    if prefix:
        user = prefix[2]
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
        "-c shared_buffers=128MB"
    )
    log = root / "server.log"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    stop = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    cluster = Cluster(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", stop)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                cluster.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
