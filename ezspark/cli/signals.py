"""SIGINT and SIGTERM stop a command like Ctrl-C does, so that it saves and cleans up first.

Python turns SIGINT into KeyboardInterrupt wherever the main thread happens to be.  When
that is a weakref callback or a ``__del__`` method, the exception is only printed
("Exception ignored in ...") and the run goes on as if nothing had been pressed.  So the
handler also remembers the request, and a hook raises it again at the start of the next
generation, where nothing is half done.
"""
from __future__ import annotations

import contextlib
import signal
import sys

from ezspark import hookimpl
from ezspark.plugins.manager import get_plugin_manager

__all__ = ["sigterm_as_interrupt", "interrupts_stop_the_run"]


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


class _StopRequest:
    """Remembers an interrupt and raises it again when the next generation starts."""

    def __init__(self):
        self.requested = False
        self.previous_unraisable = sys.unraisablehook

    def handle(self, _signum, _frame):
        self.requested = True
        raise KeyboardInterrupt

    @hookimpl
    def ezspark_generation_start(self, run, generation, population):
        if self.requested:
            raise KeyboardInterrupt

    def unraisable(self, info):
        """Python's report of a lost interrupt ("Exception ignored in ...") is left out:
        the interrupt is remembered, and stops the run at the next generation start."""
        if not (self.requested and isinstance(info.exc_value, KeyboardInterrupt)):
            self.previous_unraisable(info)


@contextlib.contextmanager
def interrupts_stop_the_run():
    """Within the block, SIGINT (unless the process ignores it, as a background job's child
    may) and SIGTERM stop a training run even when their first KeyboardInterrupt is lost."""
    request = _StopRequest()
    pm = get_plugin_manager()
    pm.register(request, name="ezspark.cli.stop-request")
    previous_term = signal.signal(signal.SIGTERM, request.handle)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, request.handle)
    sys.unraisablehook = request.unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
        sys.unraisablehook = request.previous_unraisable
        pm.unregister(request)
