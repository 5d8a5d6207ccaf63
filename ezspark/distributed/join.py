"""``ezspark join``: lend this machine's cores to a served run.

``join`` reads the invitation, connects once as a client to check that the scheduler
accepts the credentials and that this machine can run the job (same ezspark version, the
environment can be made), then runs ``workers`` Dask workers of one thread each: the first
in this process, the others in child processes (``ezspark join ... --workers 1``) that
stop when this process stops, so killing the ``join`` process (even with SIGKILL) takes
all of its workers with it.  The workers evaluate batches until the run ends, the user
presses Ctrl-C, or the coordinator excludes them.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

from ezspark._version import __version__
from ezspark.distributed.cluster import REFUSED
from ezspark.distributed.credentials import CredentialsError, load_invitation
from ezspark.evaluation.envs import make_env

__all__ = ["join", "JoinError", "machine_id", "METADATA_KEY"]

#: Scheduler metadata the coordinator publishes for joiners.
METADATA_KEY = "ezspark-run"

#: Environment variable that overrides the machine id a worker reports (for running
#: several "machines" on one host, e.g. in tests).
MACHINE_ENV = "EZSPARK_MACHINE_ID"


#: Seconds a TCP connection to the run may take before it counts as unreachable: a host
#: that is there answers in well under a second (SYN retries after 1 s and 3 s included).
CONNECT_SECONDS = 4.0

EXCLUDED = ("excluded: this machine's results disagreed with the coordinator's (safeness "
            "check); the run no longer accepts its workers")


class JoinError(RuntimeError):
    """The run cannot be joined (unreachable, refused, incompatible): exit code 2."""


def machine_id() -> str:
    value = os.environ.get(MACHINE_ENV) or socket.gethostname() or "machine"
    return value.replace("|", "_")[:64]


def normalize_address(address: str) -> str:
    """``tls://HOST:PORT`` from ``tls://HOST:PORT`` or ``HOST:PORT`` (a served run always
    speaks TLS, with the invitation's certificates); JoinError otherwise."""
    text = str(address).strip()
    if "://" in text and not text.startswith("tls://"):
        raise JoinError(f"{address!r}: a served run listens on tls:// addresses (HOST:PORT "
                        "or tls://HOST:PORT, as the run printed it)")
    rest = text[6:] if text.startswith("tls://") else text
    if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}", rest) or \
            int(rest.rsplit(":", 1)[1]) > 65535:
        raise JoinError(f"{address!r} is not an address of the form HOST:PORT or "
                        "tls://HOST:PORT, e.g. 192.168.1.20:8786 (copy it from the join "
                        "command the run printed)")
    return "tls://" + rest


def check_reachable(address: str, timeout: float = CONNECT_SECONDS) -> None:
    """JoinError at once if nothing listens at ``address`` (``tls://HOST:PORT``) or it does
    not take a TCP connection within ``timeout`` seconds; Dask would retry for the whole
    ``--timeout`` before saying so."""
    host, _, port = address.removeprefix("tls://").rpartition(":")
    host = host.strip("[]")
    where = f"cannot reach the run at {address}"
    hint = ("check the address, and that the run is serving (it starts after "
            "alone_training_iterations generations)")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise JoinError(f"{where}: unknown host {host!r} ({exc.strerror}); check the "
                        "address") from None
    except ConnectionRefusedError:
        raise JoinError(f"{where}: nothing listens on port {port} of {host} (connection "
                        f"refused); {hint}") from None
    except TimeoutError:
        raise JoinError(f"{where}: no answer within {timeout:g} s; {hint}, and that the port "
                        "is open to this machine (firewall)") from None
    except OSError as exc:                      # no route to host, network unreachable, …
        raise JoinError(f"{where} ({exc.strerror or exc}); {hint}") from None


def _classify(exc: BaseException, address: str) -> JoinError:
    text = f"{type(exc).__name__}: {exc}"
    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    joined = " | ".join(chain)
    markers = ("certificate verify failed", "CERTIFICATE_VERIFY_FAILED", "TLSV1_ALERT",
               "TLS certificate does not match", "SSLCertVerificationError", "unknown ca")
    if any(m in joined for m in markers):
        return JoinError(f"the scheduler at {address} refused these credentials, or they "
                         "are not this run's (TLS handshake failed); ask the run's owner "
                         "for the join.pem of this run")
    return JoinError(f"cannot reach the run at {address} ({text}); check that the run is "
                     "serving (it starts after alone_training_iterations generations), the "
                     "address, and that the port is open to this machine")


def _probe(address: str, security, timeout: float) -> dict:
    from distributed import Client      # Dask is optional: ``join`` checked it is here

    try:
        client = Client(address, security=security, timeout=timeout,
                        set_as_default=False)
    except Exception as exc:
        raise _classify(exc, address) from None
    try:
        meta = client.get_metadata(METADATA_KEY, default=None)
    finally:
        client.close()
    return meta or {}


#: Dask's defaults sample every thread every 10 ms (the statistical profiler), wake every
#: 20 ms to detect a blocked event loop and read the machine's counters every 0.5 s, all
#: for a dashboard a volunteer never opens: 1.6% of a core per idle worker, 0.3% without
#: (docs/distributed.md, "A model for 1,000 volunteers").
VOLUNTEER_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}


def _check_run(meta: dict) -> None:
    version = meta.get("version")
    if version and version != __version__:
        raise JoinError(f"the run uses ezspark {version}; this machine has {__version__} "
                        f"(pip install ezspark=={version})")
    env_id = meta.get("env_id")
    if env_id:
        env = make_env(env_id)        # EnvError (exit 2) if this machine cannot make it
        env.close()


def _worker_class():
    from distributed import Worker      # Dask is optional: ``join`` checked it is here

    class JoinWorker(Worker):
        """A Dask worker that remembers why it closed."""

        close_reason = None

        async def close(self, *args, reason: str = "worker-close", **kwargs):
            if self.close_reason is None:
                self.close_reason = reason
            return await super().close(*args, reason=reason, **kwargs)

    return JoinWorker


async def _run_worker(address: str, security, name: str, parent: int | None) -> str:
    """Serve one worker until the run ends; rejoin if the scheduler drops it while the
    run goes on (and learn so whether the coordinator excluded this machine)."""
    Worker = _worker_class()
    first = True
    while True:
        worker = Worker(address, security=security, nthreads=1, name=name,
                        dashboard=False, memory_limit=0, death_timeout=60 if first else 10)
        try:
            await worker
        except Exception as exc:
            chain, e = [], exc
            while e is not None and len(chain) < 10:
                chain.append(str(e))
                e = e.__cause__ or e.__context__
            text = " ".join(chain)
            if REFUSED in text:
                return EXCLUDED
            if first:
                raise
            return "the run ended"
        first = False
        while worker.status.name not in ("closed", "closing", "failed"):
            if parent is not None and os.getppid() != parent:
                await worker.close(reason="the join process stopped")
                return "the join process stopped"
            await asyncio.sleep(0.2)
        await worker.finished()
        if getattr(worker, "ezspark_excluded", False):
            return EXCLUDED
        if worker.close_reason in ("scheduler-close", None) or parent is not None:
            return "the run ended"
        name = name.rsplit("|", 1)[0] + "|" + uuid.uuid4().hex[:6]


def join(address: str, credentials, *, workers: int = 1, echo=print,
         parent: int | None = None, timeout: float = 30.0) -> str:
    """Contribute ``workers`` worker processes to the run served at ``address``.

    Blocks until the run ends (returns a sentence saying why) or Ctrl-C."""
    try:
        import dask
        import distributed  # noqa: F401  (Dask is optional: say how to install it)
    except ImportError:
        raise JoinError("joining a run needs Dask distributed: "
                        "pip install 'ezspark[distributed]'") from None
    if credentials is None:
        raise CredentialsError("joining needs the run's credentials: --credentials FILE "
                               "(the join.pem the run's owner gave you)")
    address = normalize_address(address)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    invitation = load_invitation(credentials)
    security = invitation.security()
    if parent is None:
        check_reachable(address, min(timeout, CONNECT_SECONDS))
        _check_run(_probe(address, security, timeout))
    name = f"{machine_id()}|{invitation.name}|{os.getpid()}|{uuid.uuid4().hex[:6]}"
    children = []
    if parent is None:
        echo(f"joined the run at {address} with credentials {invitation.name!r} "
             f"(machine {machine_id()}): {workers} worker{'s' if workers != 1 else ''}; "
             "Ctrl-C to leave")
        for _ in range(workers - 1):
            children.append(subprocess.Popen(
                [sys.executable, "-m", "ezspark", "join", address, "--credentials",
                 str(invitation.path), "--workers", "1", "--parent-pid", str(os.getpid())],
                stdin=subprocess.DEVNULL))
    try:
        with dask.config.set(VOLUNTEER_DASK_CONFIG):
            return asyncio.run(_run_worker(address, security, name, parent))
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
