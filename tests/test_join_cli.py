"""``ezspark join ADDRESS``: the address forms it takes, and a quick, one-line failure for an
address where no run listens (a real subprocess, a real socket, a real TLS scheduler)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")
pytest.importorskip("cryptography")

from ezspark.distributed.cluster import ServedCluster  # noqa: E402
from ezspark.distributed.credentials import create_run_credentials  # noqa: E402


def join(*args):
    return subprocess.run([sys.executable, "-m", "ezspark", "join", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


def one_error(p) -> str:
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    return lines[0]


@pytest.fixture(scope="module")
def credentials(tmp_path_factory):
    base = tmp_path_factory.mktemp("join")
    return create_run_credentials(base / "mine"), create_run_credentials(base / "other")


def test_a_port_where_nothing_listens_fails_at_once_with_one_line(credentials):
    mine, _ = credentials
    with socket.socket() as s:                   # bound, not listening: connections refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        start = time.monotonic()
        p = join(f"127.0.0.1:{port}", "--credentials", mine.join_file)
        seconds = time.monotonic() - start
    line = one_error(p)
    assert f"cannot reach the run at tls://127.0.0.1:{port}" in line
    assert "nothing listens" in line
    assert seconds < 10                          # the task's bound is 5 s; Dask alone took 30


def test_an_unknown_host_fails_with_one_line(credentials):
    mine, _ = credentials
    line = one_error(join("no-such-host.invalid:8786", "--credentials", mine.join_file))
    assert "unknown host 'no-such-host.invalid'" in line


@pytest.mark.parametrize("address", ["localhost", "tcp://127.0.0.1:8786", "127.0.0.1:99999",
                                     "tls://127.0.0.1:4236."])
def test_malformed_addresses_name_the_expected_form(address, credentials):
    mine, _ = credentials
    line = one_error(join(address, "--credentials", mine.join_file))
    assert "HOST:PORT" in line and repr(address) in line


def test_a_bare_host_port_reaches_the_served_run_over_tls(credentials):
    """Another run's invitation is refused in the TLS handshake: the bare address was taken
    as tls:// and reached the scheduler."""
    mine, other = credentials
    cluster = ServedCluster(mine, "127.0.0.1", 0, local_workers=0)
    try:
        bare = cluster.address.removeprefix("tls://")
        line = one_error(join(bare, "--credentials", other.join_file))
    finally:
        cluster.close()
    assert f"the scheduler at {cluster.address} refused these credentials" in line
