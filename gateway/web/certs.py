"""The page's self-signed HTTPS certificate, made once on first start.

A hub in someone's home has no public name, so no public CA can sign for it.
A self-signed certificate still keeps the technician's password off the air;
its SHA-256 fingerprint is logged so it can be compared with what the phone's
browser shows.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
from pathlib import Path

CERT_FILE = "web-tls.crt"
KEY_FILE = "web-tls.key"


def ensure_certificate(state_dir: Path) -> tuple[Path, Path, str]:
    """(certificate, key, SHA-256 fingerprint), generating them if absent."""
    cert_path, key_path = state_dir / CERT_FILE, state_dir / KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        _generate(cert_path, key_path)
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    return cert_path, key_path, hashlib.sha256(der).digest().hex(":").upper()


def ssl_context(state_dir: Path) -> tuple[ssl.SSLContext, str]:
    cert, key, fingerprint = ensure_certificate(state_dir)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx, fingerprint


def _generate(cert_path: Path, key_path: Path) -> None:
    # Imported only here: cryptography costs ~8 MB of the hub's memory, and is needed once per hub.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    host = socket.gethostname() or "carehub"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"carehub {host}")])
    # No real-time clock: the hub may start in 1970, so the certificate is valid from long before.
    not_before = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    sans: list[x509.GeneralName] = [
        x509.DNSName(host), x509.DNSName(f"{host}.local"), x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=365 * 30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
