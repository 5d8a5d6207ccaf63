"""Invitations to a served run: a certificate authority per run and the credentials it signs.

``--serve`` creates, in ``<run dir>/serve/``:

- ``ca.pem`` / ``ca.key``: the run's own certificate authority (the key never leaves this
  machine; file mode 0600);
- ``coordinator.pem``: certificate and key of the scheduler and the coordinator's own
  workers;
- ``join.pem``: the invitation handed to other people: the CA certificate, a certificate
  signed by the CA and its private key, in one PEM file.

Every connection to the run's Dask scheduler is mutual TLS: a peer must present a
certificate signed by this run's CA, so a machine without an invitation, or with another
run's, cannot connect.  ``ezspark invite RUN_DIR --name NAME`` signs more invitations (one
per person makes "different credentials" meaningful for ``safeness``, docs/algorithm.md
section 7.2).

``cryptography`` and Dask are optional (the ``distributed`` extra): the functions that need
them import them when they run.
"""
from __future__ import annotations

import atexit
import datetime
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = ["CredentialsError", "RunCredentials", "create_run_credentials", "invite",
           "load_invitation", "Invitation"]

#: Lifetime of the certificates of a run.
VALIDITY = datetime.timedelta(days=365)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CredentialsError(ValueError):
    """Missing, unreadable or foreign credentials (a user mistake)."""


def _crypto():
    try:        # optional (module docstring)
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as exc:   # pragma: no cover - the distributed extra installs it
        raise CredentialsError("serving a run needs the 'cryptography' package: "
                               "pip install 'ezspark[distributed]'") from exc
    return x509, hashes, serialization, ec, NameOID


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _name(NameOID, x509, common_name: str, run_id: str):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"ezspark run {run_id}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _sign(ca_cert, ca_key, common_name: str, run_id: str):
    """A new key and a certificate for it, signed by the run's CA.  Returns PEM bytes
    (certificate then key)."""
    x509, hashes, serialization, ec, NameOID = _crypto()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(NameOID, x509, common_name, run_id))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


class RunCredentials:
    """The files of a served run's CA (see the module docstring)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    ca_file = property(lambda self: self.directory / "ca.pem")
    ca_key_file = property(lambda self: self.directory / "ca.key")
    coordinator_file = property(lambda self: self.directory / "coordinator.pem")
    join_file = property(lambda self: self.directory / "join.pem")

    def exists(self) -> bool:
        return self.ca_file.exists() and self.ca_key_file.exists() and self.coordinator_file.exists()

    def run_id(self) -> str:
        x509, *_ = _crypto()
        cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        return cert.subject.get_attributes_for_oid(_crypto()[4].COMMON_NAME)[0].value.split()[-1]

    def security(self):
        """The ``distributed.Security`` of the scheduler and the coordinator's workers."""
        from distributed.security import Security      # Dask is optional (module docstring)

        pem = str(self.coordinator_file)
        return Security(tls_ca_file=str(self.ca_file), require_encryption=True,
                        tls_scheduler_cert=pem, tls_scheduler_key=pem,
                        tls_client_cert=pem, tls_client_key=pem,
                        tls_worker_cert=pem, tls_worker_key=pem)


def create_run_credentials(directory, run_id: str | None = None) -> RunCredentials:
    """Create (or reuse, on resume) a run's CA, coordinator certificate and ``join.pem``."""
    creds = RunCredentials(directory)
    if creds.exists() and creds.join_file.exists():
        return creds
    x509, hashes, serialization, ec, NameOID = _crypto()
    run_id = run_id or os.urandom(6).hex()
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = _name(NameOID, x509, f"ezspark CA {run_id}", run_id)
    ca = (x509.CertificateBuilder()
          .subject_name(subject).issuer_name(subject)
          .public_key(key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    _write_private(creds.ca_key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _write_private(creds.ca_file, ca_pem)
    _write_private(creds.coordinator_file, _sign(ca, key, "coordinator", run_id))
    _write_private(creds.join_file, ca_pem + _sign(ca, key, "join", run_id))
    return creds


def invite(directory, name: str, out=None) -> Path:
    """Sign a new invitation named ``name`` with the run's CA; returns its path."""
    if not _NAME.match(name) or name in ("coordinator",):
        raise CredentialsError(f"invitation name {name!r}: use 1-64 letters, digits, '.', '_' "
                               "or '-' (and not 'coordinator')")
    creds = RunCredentials(directory)
    if not creds.exists():
        raise CredentialsError(f"{creds.directory} holds no run credentials: serve the run "
                               "first (python -m ezspark run CONFIG --serve)")
    x509, hashes, serialization, ec, NameOID = _crypto()
    ca = x509.load_pem_x509_certificate(creds.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(creds.ca_key_file.read_bytes(), password=None)
    run_id = creds.run_id()
    path = Path(out) if out is not None else creds.directory / f"join-{name}.pem"
    _write_private(path, creds.ca_file.read_bytes() + _sign(ca, ca_key, name, run_id))
    return path


class Invitation:
    """A parsed invitation file: CA certificate, own certificate and key."""

    def __init__(self, path: Path, ca_pem: bytes, cert_pem: bytes, key_pem: bytes,
                 name: str, run_id: str):
        self.path, self.ca_pem, self.cert_pem, self.key_pem = path, ca_pem, cert_pem, key_pem
        self.name, self.run_id = name, run_id
        self._dir = None

    def security(self):
        """A ``distributed.Security`` for workers and clients holding this invitation.
        The PEM parts are written to a private temporary directory (removed at exit)."""
        from distributed.security import Security      # Dask is optional (module docstring)

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="ezspark-join-")
            atexit.register(shutil.rmtree, self._dir, True)
            d = Path(self._dir)
            _write_private(d / "ca.pem", self.ca_pem)
            _write_private(d / "me.pem", self.cert_pem + self.key_pem)
        d = Path(self._dir)
        me = str(d / "me.pem")
        return Security(tls_ca_file=str(d / "ca.pem"), require_encryption=True,
                        tls_client_cert=me, tls_client_key=me,
                        tls_worker_cert=me, tls_worker_key=me)


def load_invitation(path) -> Invitation:
    """Read an invitation file (``join.pem``), with a CredentialsError naming what is wrong."""
    x509, hashes, serialization, ec, NameOID = _crypto()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"cannot read credentials {path}: {exc.strerror or exc}") from exc
    parts = re.findall(rb"(-----BEGIN ([A-Z ]+)-----.*?-----END \2-----)", data, re.S)
    certs = [p[0] + b"\n" for p in parts if p[1] == b"CERTIFICATE"]
    keys = [p[0] + b"\n" for p in parts if p[1].endswith(b"PRIVATE KEY")]
    if len(certs) != 2 or len(keys) != 1:
        raise CredentialsError(f"{path} is not an ezspark invitation (expected the CA "
                               "certificate, a certificate and a private key, as written by "
                               "'ezspark run --serve' or 'ezspark invite')")
    try:
        ca = x509.load_pem_x509_certificate(certs[0])
        mine = x509.load_pem_x509_certificate(certs[1])
        serialization.load_pem_private_key(keys[0], password=None)
    except ValueError as exc:
        raise CredentialsError(f"{path}: unreadable certificate or key: {exc}") from exc
    if mine.issuer != ca.subject:
        raise CredentialsError(f"{path}: its certificate is not signed by its CA")
    name = mine.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    run_id = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.split()[-1]
    return Invitation(path, certs[0], certs[1], keys[0], name, run_id)
