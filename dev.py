#!/usr/bin/env python3
"""Set up and run Potluck from a checkout with nothing but Python 3.11+.

    python3 dev.py serve   # create .venv if missing, fill demo data, serve http://127.0.0.1:8000
    python3 dev.py test    # create .venv if missing, then lint, type-check and run every test

Uses only the standard library, so it works before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".potluck-installed"


def _run(*command: str | Path) -> None:
    completed = subprocess.run([str(part) for part in command], cwd=ROOT, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Potluck needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    # Reinstall only when the declared dependencies change.
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Installing Potluck and its dependencies into .venv ...", flush=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--editable", ".[test]")
    STAMP.write_text(wanted)


def serve(extra: list[str]) -> None:
    ensure_environment()
    _run(BIN / "potluck", "demo")
    os.execv(BIN / "potluck", [str(BIN / "potluck"), "serve", *extra])  # noqa: S606


def test(extra: list[str]) -> None:
    ensure_environment()
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "mypy")
    workers = os.environ.get("POTLUCK_TEST_WORKERS", str(min(os.cpu_count() or 1, 4)))
    _run(BIN / "python", "-m", "pytest", "-n", workers, *extra)


def main() -> None:
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
