"""Python's cyclic garbage collector, paused for one stage of a payday at a time.

A payday at scale holds millions of small objects at once (pledges, charges, payment lines,
transfers) that live until their stage ends and form no reference cycles. Every full
collection walks all of them, and new objects are made fast enough to start one every few
hundred thousand allocations: at a million pledges that walking was a fifth of the payday.
Reference counting still frees each object the moment it is no longer used; only the search
for cycles waits, and runs once when the stage ends.

The pause is process-wide, so it is counted: stages run by several threads at once (which
the payday lease makes rare) resume collecting only when the last of them ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = True


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then collect once."""
    global _paused, _was_enabled  # noqa: PLW0603 - one switch for the whole process
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            last = _paused == 0
            if last and _was_enabled:
                gc.enable()
        if last:
            gc.collect()
