"""The Dask clusters a run evaluates on: one it serves itself, or one that already exists.

:class:`ServedCluster` (``run --serve``) starts a TLS scheduler in this process, on the
address given, with ``local_workers`` worker processes of the coordinator (they hold the
coordinator's certificate and are trusted), and a gate on worker registration that

- records each worker's identity: the common name of the certificate it presented in the
  TLS handshake (verified by TLS, not reported by the worker) and its machine (the address
  it connects from, plus the machine id ``ezspark join`` reports);
- refuses workers whose identity was excluded by ``safeness`` (docs/algorithm.md
  section 7.2 rule 4).

The gate is the one place ezspark uses a private Dask interface; see
:func:`install_registration_gate` for why.

:class:`ExternalCluster` (``run --scheduler ADDRESS``) connects to a Dask cluster someone
already runs.  The coordinator has no workers there: batches it must evaluate itself run in
this process.  Identities come from the scheduler's worker records (name and host).

Dask is optional: the functions that need it import it when they run.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable

from ezspark.distributed.coordinator import COORDINATOR, UNKNOWN, WorkerIdentity

__all__ = ["ServedCluster", "ExternalCluster", "machine_of_name", "public_address",
           "parse_host_port", "install_registration_gate", "DistributedError", "REFUSED"]

#: Separator between the machine id and the rest of a worker name set by ``ezspark join``.
NAME_SEP = "|"

#: Client options: results from workers are plain bytes; never unpickle them.
DESERIALIZERS = ["dask", "msgpack"]

#: What the registration gate tells an excluded worker (``ezspark join`` looks for it).
REFUSED = "was excluded from this run"

#: The scheduler's handler for a worker's registration message (Scheduler.add_worker).
REGISTER_HANDLER = "register-worker"


class DistributedError(RuntimeError):
    """A served or external cluster cannot be started, reached or used (a user mistake in
    the address or the setup: exit code 2 in the CLI)."""


def machine_of_name(name) -> str:
    """The machine id in a worker name ``<machine id>|...`` set by ``ezspark join``."""
    text = str(name)
    return text.split(NAME_SEP, 1)[0] if NAME_SEP in text else "?"


def _common_name(peercert) -> str | None:
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _host_of(address: str) -> str:
    from distributed.comm import get_address_host     # Dask is optional (module docstring)

    try:
        return get_address_host(address)
    except Exception:
        return str(address)


def public_address(host: str, port: int) -> str:
    """The address others should dial: the host given, or for a wildcard host this
    machine's outward-facing IP (no packet is sent to find it)."""
    if host in ("", "0.0.0.0", "::"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("192.0.2.1", 9))       # TEST-NET: routing decision only
                host = s.getsockname()[0]
        except OSError:
            host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tls://{host}:{port}"


def parse_host_port(text: str, default_port: int = 8786) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST``, ``:PORT`` or ``PORT`` -> (host, port)."""
    text = str(text).strip()
    if text.startswith("tls://"):
        text = text[6:]
    host, port = text, default_port
    if text.isdigit():
        host, port = "0.0.0.0", int(text)
    elif text.startswith("["):                       # [v6]:port
        end = text.find("]")
        host = text[1:end]
        rest = text[end + 1:]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        elif rest:
            raise DistributedError(f"--serve {text!r}: expected HOST:PORT")
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        if not p.isdigit():
            raise DistributedError(f"--serve {text!r}: the port {p!r} is not a number")
        port = int(p)
    if not 0 <= port <= 65535:
        raise DistributedError(f"--serve {text!r}: the port must be 0 to 65535")
    return host or "0.0.0.0", port


def install_registration_gate(scheduler,
                              admit: Callable[[object, object], str | None]) -> None:
    """Make ``scheduler`` ask ``admit(comm, name)`` before it registers a worker.

    ``admit`` gets the worker's connection and the name it registers with; it returns
    None to let the worker in, or the reason it is refused (the worker's start-up then
    fails with that text).

    This wraps a private part of Dask, the scheduler's handler for the worker's
    registration message (``Scheduler.handlers["register-worker"]``, i.e.
    ``Scheduler.add_worker``), because no documented interface suffices:
    ``SchedulerPlugin.add_worker`` is called after the scheduler has registered the worker,
    and with its address only.  It cannot see the TLS certificate the worker connected
    with (the only identity that TLS verifies rather than the worker reporting it), and it
    cannot refuse the worker: it can only close it afterwards, when the worker may already
    hold tasks and never learns why.  tests/test_distributed.py fails if the handler is
    renamed or a refused worker gets in.
    """
    original = scheduler.handlers[REGISTER_HANDLER]      # KeyError if Dask renames it

    async def register_worker(comm, **msg):
        refusal = admit(comm, msg.get("name"))
        if refusal is not None:
            # the reply Dask itself sends a worker it will not register (a taken name)
            await comm.write({"status": "error", "time": time.time(), "message": refusal})
            return None
        # registers the worker, then serves its stream until it leaves
        return await original(comm, **msg)

    scheduler.handlers[REGISTER_HANDLER] = register_worker


def _mark_excluded(dask_worker=None):
    """Run on an excluded worker before it is closed (see ``ezspark join``)."""
    if dask_worker is not None:
        dask_worker.ezspark_excluded = True


async def _close_excluded(dask_worker=None):
    """Run on an excluded worker that Dask would not retire: it closes itself."""
    if dask_worker is not None:
        dask_worker.ezspark_excluded = True
        dask_worker.loop.add_callback(dask_worker.close, reason="ezspark: excluded")


class _Base:
    """What a round asks of a cluster: its workers, who they are, and closing them."""

    client = None

    def _scheduler_workers(self) -> dict:
        """{address: worker record} of every worker connected now."""
        try:
            return self.client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:                           # older distributed
            return self.client.scheduler_info()["workers"]

    def _records(self) -> dict:
        return self._scheduler_workers()

    def live_workers(self) -> list[str]:
        return list(self._records())

    def snapshot(self) -> dict:
        """{address: (identity, threads)} of every worker connected now, in one look."""
        return {address: (self.identity_at(address), max(int(w.get("nthreads") or 1), 1))
                for address, w in self._records().items()}

    def busy(self) -> dict:
        """{address: keys of the tasks the scheduler has given the worker, not finished}."""
        return {address: set(keys) for address, keys in self.client.processing().items()}

    def identity_of(self, future) -> WorkerIdentity:
        """Identity of the worker that computed ``future`` (the one holding its result)."""
        return self.identities_of([future])[future.key]

    def identities_of(self, futures) -> dict:
        """{future key: identity of the worker holding its result}, in one round trip."""
        try:
            holders = self.client.who_has(list(futures))
        except Exception:
            holders = {}
        out = {}
        for fut in futures:
            where = tuple(holders.get(fut.key, ()))
            out[fut.key] = self.identity_at(where[0]) if where else UNKNOWN
        return out

    def _retire(self, key: str) -> None:
        """Close every connected worker whose identity is ``key``."""
        victims = [a for a in self.live_workers() if self.identity_at(a).key == key]
        if victims:
            try:                       # tell them why first: their ``join`` reports it
                self.client.run(_mark_excluded, workers=victims, wait=True)
            except Exception:
                pass
            try:
                retired = self.client.retire_workers(workers=victims, close_workers=True)
            except Exception:          # already gone: nothing to close
                retired = {}
            # Dask gives up retiring a worker whose results it cannot move elsewhere (the
            # last worker of a cluster, say): such a worker is told to close itself
            left = [a for a in victims if a not in (retired or {})]
            if left:
                try:
                    self.client.run(_close_excluded, workers=left, wait=False)
                except Exception:
                    pass


class ServedCluster(_Base):
    """A TLS scheduler and the coordinator's workers, served from this process.

    ``banned`` holds identity keys refused from the start (excluded earlier in the run)."""

    def __init__(self, credentials, host: str = "0.0.0.0", port: int = 8786,
                 local_workers: int = 1, banned=()):
        try:       # Dask is optional (module docstring)
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise DistributedError(
                "serving a run needs Dask distributed: pip install 'ezspark[distributed]'"
            ) from exc
        self.identities: dict = {}          # worker name -> WorkerIdentity
        self.banned: set[str] = set(banned)
        self._lock = threading.Lock()       # the scheduler's event loop reads both too
        security = credentials.security()
        self.cluster = _local_cluster(LocalCluster, security, host, port)
        install_registration_gate(self.cluster.scheduler, self._admit)
        if local_workers:
            self.cluster.scale(local_workers)
        self.client = Client(self.cluster, security=security, deserializers=DESERIALIZERS,
                             set_as_default=False)
        if local_workers:
            self.client.wait_for_workers(local_workers, timeout=120)
        port = int(self.cluster.scheduler_address.rsplit(":", 1)[1])
        self.address = public_address(host, port)

    def _admit(self, comm, name) -> str | None:
        """The registration gate: record the worker's identity, or refuse it."""
        cn = _common_name((getattr(comm, "extra_info", None) or {}).get("peercert"))
        if cn == "coordinator":
            ident = COORDINATOR
        else:
            ident = WorkerIdentity(cn or "?",
                                   f"{_host_of(comm.peer_address)}/{machine_of_name(name)}")
        with self._lock:
            if ident.key in self.banned:
                return (f"ezspark: worker {ident.key} {REFUSED} (its results disagreed with "
                        "the coordinator's)")
            self.identities[name] = ident
        return None

    def _records(self) -> dict:
        """The scheduler's workers, read in this process: no message, no serialisation of
        every worker's metrics (``scheduler_info``), which grows with the crowd."""
        for _ in range(5):
            try:
                return {address: {"nthreads": ws.nthreads, "name": ws.name}
                        for address, ws in list(self.cluster.scheduler.workers.items())}
            except RuntimeError:       # the event loop changed the table meanwhile
                continue
        return self._scheduler_workers()

    def busy(self) -> dict:
        for _ in range(5):
            try:
                return {address: {ts.key for ts in list(ws.processing)}
                        for address, ws in list(self.cluster.scheduler.workers.items())}
            except RuntimeError:
                continue
        return super().busy()

    def identities_of(self, futures) -> dict:
        """As :meth:`_Base.identities_of`, from the scheduler's task table in this process;
        a future the table cannot place is asked of the scheduler as usual."""
        out, rest = {}, []
        tasks = self.cluster.scheduler.tasks
        for fut in futures:
            try:
                ts = tasks.get(fut.key)
                holders = sorted(ws.address for ws in list(ts.who_has or ())) if ts else []
            except RuntimeError:            # changed meanwhile
                holders = []
            if holders:
                out[fut.key] = self.identity_at(holders[0])
            else:
                rest.append(fut)
        if rest:
            out.update(super().identities_of(rest))
        return out

    def identity_at(self, address: str) -> WorkerIdentity:
        ws = self.cluster.scheduler.workers.get(address)
        with self._lock:
            ident = self.identities.get(ws.name) if ws is not None else None
        return ident if ident is not None else WorkerIdentity("?", _host_of(address))

    def ban(self, key: str) -> None:
        with self._lock:
            self.banned.add(key)       # the registration gate refuses it from now on
        self._retire(key)

    def close(self) -> None:
        for closer in (self.client.close, self.cluster.close):
            try:
                closer()
            except Exception:
                pass


def _local_cluster(LocalCluster, security, host: str, port: int):
    """A TLS scheduler on ``host:port`` with no workers yet; DistributedError if it cannot
    listen there."""
    try:
        return LocalCluster(
            n_workers=0, threads_per_worker=1, processes=True, protocol="tls://",
            host=host, scheduler_port=port, security=security, dashboard_address=None,
            # Dask's plain-HTTP status routes: on loopback only, on any free port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=50)
    except Exception as exc:          # Dask wraps the OSError in RuntimeErrors
        cause, e = str(exc), exc
        while e is not None:
            if isinstance(e, OSError):
                cause = e.strerror or str(e)
                break
            e = e.__cause__ or e.__context__
        raise DistributedError(f"cannot serve on {host}:{port}: {cause} (choose another "
                               "address with --serve HOST:PORT, or port 0 for any free "
                               "port)") from exc


class ExternalCluster(_Base):
    """A Dask cluster somebody already runs (``run --scheduler ADDRESS``)."""

    def __init__(self, address: str, security=None):
        try:       # Dask is optional (module docstring)
            from distributed import Client
        except ImportError as exc:
            raise DistributedError(
                "--scheduler needs Dask distributed: pip install 'ezspark[distributed]'"
            ) from exc
        self.address = address
        try:
            kwargs = {"security": security} if security is not None else {}
            self.client = Client(address, timeout=30, deserializers=DESERIALIZERS,
                                 set_as_default=False, **kwargs)
        except Exception as exc:
            raise DistributedError(f"cannot connect to the Dask scheduler at {address}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        self._info: dict = {}
        self._stamp = 0.0

    def _workers(self) -> dict:
        """The scheduler's worker records, fetched at most every 0.5 s (a round asks for
        them for every answer)."""
        now = time.monotonic()
        if now - self._stamp > 0.5:
            self._info = self._scheduler_workers()
            self._stamp = now
        return self._info

    def _records(self) -> dict:
        return self._workers()

    def identity_at(self, address: str) -> WorkerIdentity:
        w = self._workers().get(address)
        name = w.get("name") if w else None
        host = _host_of(address)
        return WorkerIdentity(f"worker:{name}", f"{host}/{machine_of_name(name)}")

    def ban(self, key: str) -> None:
        """A cluster that is not ours cannot refuse workers; close the excluded ones (a
        worker started in their place has a new name, so a new identity)."""
        self._retire(key)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
