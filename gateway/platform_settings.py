"""Checks of the platform (broker) settings that need the file system, made before they are saved.

The schema checks the shape of every value; whether a CA file, a client certificate
and its key can actually be loaded is only known by reading them. A change from the
page or the platform is refused while they cannot (the hub would otherwise save a
file that cannot connect), and ``carehub config check`` and ``carehub doctor`` say the
same of a file written by hand.
"""

from __future__ import annotations

import ssl

from gateway.config import FieldError
from gateway.config.schema import PlatformConfig


def platform_file_errors(p: PlatformConfig) -> list[FieldError]:
    """Every TLS file of ``p`` that cannot be used, with what was wrong."""
    if not p.tls:
        return []
    errors: list[FieldError] = []
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if p.ca_file:
        try:
            ctx.load_verify_locations(cafile=p.ca_file)
        except (OSError, ssl.SSLError) as exc:
            errors.append(FieldError("platform.ca_file", p.ca_file, f"a readable PEM CA certificate ({_why(exc)})"))
    if p.cert_file:
        try:
            ctx.load_cert_chain(p.cert_file, p.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            errors.append(FieldError("platform.cert_file", p.cert_file,
                                     f"a readable PEM certificate whose key is platform.key_file ({_why(exc)})"))
    return errors


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
