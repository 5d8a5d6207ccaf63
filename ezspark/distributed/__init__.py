"""Training with other people's machines, on Dask distributed (docs/algorithm.md section 7).

``ezspark.train(cfg, serve="HOST:PORT")`` (``run --serve``) evaluates generations
``0 … alone_training_iterations − 1`` locally, then serves the run: a TLS Dask scheduler in
this process, the coordinator's own worker processes (``workers``), and an invitation
(``<out>/serve/join.pem``) that lets others run ``python -m ezspark join ADDRESS
--credentials join.pem``.  ``scheduler=ADDRESS`` (``run --scheduler``) uses an existing Dask
cluster instead.  See ``docs/distributed.md`` for the trust model.

Dask is an extra: ``pip install 'ezspark[distributed]'``.  This package imports without it;
starting or joining a cluster says how to install it.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable

from ezspark._version import __version__
from ezspark.distributed.cluster import (DistributedError, ExternalCluster, ServedCluster,
                                         parse_host_port)
from ezspark.distributed.coordinator import DaskEvaluator
from ezspark.distributed.credentials import (CredentialsError, create_run_credentials, invite,
                                             load_invitation)
from ezspark.distributed.join import METADATA_KEY, JoinError
from ezspark.evaluation.contract import EvalResult, Evaluator, Progress, RunContext

__all__ = ["ServedEvaluator", "CredentialsError", "create_run_credentials", "invite",
           "load_invitation", "DistributedError", "JoinError", "have_dask", "INSTALL_HINT",
           "parse_host_port"]

INSTALL_HINT = "pip install 'ezspark[distributed]'"


def have_dask() -> bool:
    try:
        import distributed  # noqa: F401  (Dask is optional: this asks whether it is here)
    except ImportError:
        return False
    return True


def _default_announce(address: str, credentials: Path) -> None:
    print(f"serving the run at {address}; others join it with:\n"
          f"    python -m ezspark join {address} --credentials {credentials}",
          flush=True)


class ServedEvaluator(Evaluator):
    """Local evaluation for k < ``alone_training_iterations``, then Dask (docs/algorithm.md
    section 7.1).

    ``local`` is the evaluator of the alone phase (EnvEvaluator or ProcessEvaluator); it is
    closed when the cluster starts, so that the coordinator's cores become its Dask
    workers.  ``serve`` is ``(host, port)`` or None; ``scheduler`` an address or None.
    The cluster starts at the first generation evaluated on it: from ``start``'s context
    it takes the run's verification stream and the workers excluded earlier (a resume).
    """

    def __init__(self, cfg, info, local: Evaluator | None, *, serve=None, scheduler=None,
                 workers: int = 1, directory: Path | None = None,
                 announce: Callable[[str, Path], None] | None = None,
                 log: Callable[[str], None] | None = None):
        if not have_dask():
            what = "serve" if serve is not None else "scheduler"
            raise DistributedError(f"{what} needs Dask distributed, which is not installed: "
                                   f"{INSTALL_HINT}")
        self.cfg, self.info, self.local = cfg, info, local
        self.serve, self.scheduler, self.workers = serve, scheduler, int(workers)
        self.directory = directory
        self.announce = announce or _default_announce
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.context: RunContext | None = None
        self.cluster = None
        self.dask: DaskEvaluator | None = None

    def start(self, context: RunContext) -> None:
        self.context = context

    @property
    def excluded(self) -> frozenset:
        if self.dask is not None:
            return self.dask.excluded
        return self.context.excluded if self.context is not None else frozenset()

    @property
    def trust_records(self) -> tuple:
        if self.dask is not None:
            return self.dask.trust_records
        return self.context.trust if self.context is not None else ()

    def evaluate(self, programs, seed: int, generation: int,
                 progress: Progress | None = None) -> EvalResult:
        if generation < self.cfg.alone_training_iterations:
            return self.local.evaluate(programs, seed, generation, progress=progress)
        if self.dask is None:
            self._start_cluster()
        return self.dask.evaluate(programs, seed, generation, progress=progress)

    def _start_cluster(self) -> None:
        if self.context is None:
            raise RuntimeError("ServedEvaluator.start(context) must come before the first "
                               "distributed generation")
        if self.local is not None:      # its cores become the coordinator's Dask workers
            self.local.close()
            self.local = None
        excluded = self.context.excluded
        if self.serve is not None:
            host, port = self.serve
            directory = (Path(self.directory) if self.directory is not None
                         else Path(tempfile.mkdtemp(prefix="ezspark-serve-")))
            creds = create_run_credentials(directory)
            self.cluster = ServedCluster(creds, host, port, local_workers=self.workers,
                                         banned=excluded)
            self.cluster.client.set_metadata(METADATA_KEY, {
                "version": __version__, "env_id": self.info.env_id})
            self.announce(self.cluster.address, creds.join_file)
        else:
            self.cluster = ExternalCluster(self.scheduler)
            self.log(f"evaluating on the Dask cluster at {self.scheduler}")
        self.dask = DaskEvaluator(self.cfg, self.info, self.cluster,
                                  verification=self.context.verification, excluded=excluded,
                                  trust=self.context.trust,
                                  log=self.log, run_tag=f"ezspark-{self.context.seed % 10**8}")

    def close(self) -> None:
        if self.local is not None:
            self.local.close()
            self.local = None
        if self.dask is not None:
            self.dask.close()
        if self.cluster is not None:
            if self.serve is not None:
                try:         # the scheduler's end tells every joined worker to stop
                    self.cluster.client.shutdown()
                except Exception:
                    pass
            self.cluster.close()
            self.cluster = None
