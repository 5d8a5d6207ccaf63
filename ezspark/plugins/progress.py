"""Built-in reporter: a progress bar over the genomes of each generation, on stderr.

Drawn with rich only when the run asks for progress (``ezspark run`` without ``--quiet``,
``ezspark.train(..., progress=True)``) and stderr is a terminal; block the plugin name
``ezspark.plugins.progress`` to silence it.

The bar is transient: it is erased when its generation ends, before any other reporter
prints (``tryfirst``), so the summary line on stdout takes its place instead of running
into it; the end of a run (Ctrl-C and errors included) erases it too.  It is redrawn from
the hook calls themselves, at most 10 times a second, not by a refresh thread: runs fork
worker processes, which must not inherit a thread that writes to the terminal.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn)

from ezspark import hookimpl

INTERVAL = 0.1          # seconds between redraws


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait until rich has finished starting, drawing or stopping the bar.

    rich is not safe against an exception raised half-way (a KeyboardInterrupt between its
    hiding the cursor and registering its render hook breaks its ``stop``).  Within the
    block a signal is only remembered; afterwards the former handlers are back and the
    signal is raised again, so it acts exactly as it would have (KeyboardInterrupt, the
    CLI's stop request, or the default action).  Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in _HELD:
        if signal.getsignal(signum) is not None:     # None: a handler Python cannot restore
            previous[signum] = signal.signal(signum, lambda n, _frame: caught.append(n))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in caught:
            signal.raise_signal(signum)


class _Bar:
    """The bar of one generation, drawn as soon as it is made."""

    def __init__(self, generation: int, total: int):
        self.progress = Progress(
            TextColumn("gen {task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("genomes"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True, auto_refresh=False,
            # the summary line and warnings go to the real streams, never through rich
            redirect_stdout=False, redirect_stderr=False)
        self.task = self.progress.add_task(str(generation), total=total)
        self.drawn = time.monotonic()

    def start(self) -> None:
        with _signals_held():
            self.progress.start()

    def advance(self, done: int) -> None:
        self.progress.update(self.task, completed=done)
        now = time.monotonic()
        if now - self.drawn >= INTERVAL:
            with _signals_held():
                self.progress.refresh()
            self.drawn = now

    def stop(self) -> None:
        with _signals_held():
            self.progress.stop()


_bars: dict[int, _Bar] = {}     # id(run) -> the bar of its generation in progress


def _stop(run) -> None:
    # Ctrl-C raises wherever the process is, also inside rich: the bar is forgotten only
    # once it is stopped, so that the end of the run can stop a bar left half-way.
    bar = _bars.get(id(run))
    if bar is not None:
        bar.stop()
        del _bars[id(run)]


@hookimpl
def ezspark_generation_start(run, generation, population):
    _stop(run)
    if run.progress and sys.stderr.isatty():
        # registered before it draws, so that an interrupt while it starts still erases it
        # (and shows the cursor again) at the end of the run
        bar = _bars[id(run)] = _Bar(generation, population)
        bar.start()


@hookimpl
def ezspark_genomes_evaluated(run, generation, done, total):
    bar = _bars.get(id(run))
    if bar is not None:
        bar.advance(done)


@hookimpl(tryfirst=True)
def ezspark_generation_end(run, stats):
    _stop(run)


@hookimpl(tryfirst=True)
def ezspark_run_end(run, result):
    bar = _bars.get(id(run))
    _stop(run)
    if bar is not None:
        # an interrupt inside rich's start may have hidden the cursor before the bar knew
        # it was started; a terminal must never be left without one
        bar.progress.console.show_cursor(True)
