"""A lying volunteer, for the safeness tests: ``ezspark join`` that inflates fitness.

    python -m tests.liar_worker --inflate 7.5 ADDRESS --credentials FILE

runs the real ``ezspark join`` command (the same invitation check, Dask worker, exit
codes and messages), in a process where the batch function adds ``--inflate`` to every
fitness it returns: what a volunteer who edited their copy of ezspark would send.  It
joins with one worker (``--workers`` would start honest ``ezspark join`` children).
Nothing in ezspark itself knows about it.
"""
from __future__ import annotations

import argparse
import sys

import attrs

from ezspark.cli import main as ezspark_main
from ezspark.distributed import batch


def install_lie(inflate: float) -> None:
    """Make this process's workers return fitness + ``inflate`` for every genome."""
    honest = batch.play_batch

    def lying_play_batch(req, worker="coordinator"):
        reply = honest(req, worker)
        return attrs.evolve(reply, fitness=reply.fitness + inflate)

    # evaluate_batch, the task a worker runs, looks play_batch up in its module
    batch.play_batch = lying_play_batch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inflate", type=float, required=True)
    args, join_args = parser.parse_known_args(argv)
    install_lie(args.inflate)
    return ezspark_main(["join", *join_args])


if __name__ == "__main__":
    sys.exit(main())
