"""SIGTERM stops a command like Ctrl-C does, so that it saves and cleans up first."""
from __future__ import annotations

import contextlib
import signal

__all__ = ["sigterm_as_interrupt"]


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt; the old handler comes back after."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
