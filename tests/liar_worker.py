"""A lying or dawdling volunteer, for the safeness tests: ``ezspark join`` with a twist.

    python -m tests.liar_worker --inflate 7.5 [--honest-for N] [--sleep S] ADDRESS \\
        --credentials FILE

runs the real ``ezspark join`` command (the same invitation check, Dask worker, exit
codes and messages), in a process where the batch function adds ``--inflate`` to every
fitness it returns: what a volunteer who edited their copy of ezspark would send.  With
``--honest-for N`` it answers its first N batches honestly and lies from then on (a
patient liar that earns trust first); with ``--sleep S`` it waits S seconds before it
answers each batch (a slow machine; ``--inflate 0`` keeps it honest).  It joins with one
worker (``--workers`` would start honest ``ezspark join`` children).  Nothing in ezspark
itself knows about it.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time

import attrs

from ezspark.cli import main as ezspark_main
from ezspark.distributed import batch


def install_lie(inflate: float, honest_for: int = 0, sleep: float = 0.0) -> None:
    """Make this process's workers return fitness + ``inflate`` for every genome of every
    batch after their first ``honest_for``, each answer ``sleep`` seconds late."""
    honest = batch.play_batch
    count = itertools.count(1)
    lock = threading.Lock()

    def lying_play_batch(req, worker="coordinator"):
        reply = honest(req, worker)
        with lock:
            n = next(count)
        if sleep:
            time.sleep(sleep)
        if n <= honest_for or not inflate:
            return reply
        return attrs.evolve(reply, fitness=reply.fitness + inflate)

    # evaluate_batch, the task a worker runs, looks play_batch up in its module
    batch.play_batch = lying_play_batch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inflate", type=float, required=True)
    parser.add_argument("--honest-for", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    args, join_args = parser.parse_known_args(argv)
    install_lie(args.inflate, args.honest_for, args.sleep)
    return ezspark_main(["join", *join_args])


if __name__ == "__main__":
    sys.exit(main())
