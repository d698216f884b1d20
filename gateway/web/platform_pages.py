"""The care platform's connection: its settings, "test connection", and the TLS certificates."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from gateway.config import ConfigError, FieldError, write_atomic
from gateway.config.schema import PlatformConfig
from gateway.web import forms
from gateway.web.core import (
    CERT_DIR,
    CERT_NAMES,
    COUNTERS,
    HUB,
    MAX_PEM,
    NO_CONNECT,
    PROBES,
    HubView,
    _errors_for,
    _form,
    _save,
    _t,
    _values,
    render,
)
from gateway.web.forms import FormErrors


def _cert_info(path: str) -> str | None:
    if not path:
        return None
    from cryptography import x509  # only when certificates are in use: it costs ~8 MB

    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
        c = certs[0]
        return f"{c.subject.rfc4514_string()[:80]}, valid to {c.not_valid_after_utc:%Y-%m-%d}"
    except (OSError, ValueError):
        return Path(path).name


async def platform_page(request: web.Request, errors: dict[str, list[str]] | None = None,
                        posted: Mapping[str, str] | None = None, status: int = 200,
                        probe: tuple[bool, str] | None = None) -> web.Response:
    hub: HubView = request.app[HUB]
    p = hub.config.platform
    return render(request, "platform.html", status=status, fields=forms.PLATFORM_FIELDS,
                  values=_values(forms.PLATFORM_FIELDS, hub.config, posted), errors=errors or {},
                  probe=probe, password_set=bool(p.password),
                  certs={"ca_file": _cert_info(p.ca_file), "cert_file": _cert_info(p.cert_file),
                         "key_file": Path(p.key_file).name if p.key_file else None},
                  connection=hub.status()["platform"])


async def platform_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    form = await _form(request)
    try:
        new = forms.submit(hub.config, forms.PLATFORM_FIELDS, form)
    except FormErrors as exc:
        return await platform_page(request, _errors_for(request, forms.PLATFORM_FIELDS, exc.errors), form, 400)
    if form.get("action") == "test":
        return await _test_connection(request, new.platform, form)
    try:
        await _save(request, new, "platform")
    except ConfigError as exc:  # TLS files that cannot be loaded: refused before saving
        found: dict[str, list[FieldError]] = {}
        for e in exc.errors:
            found.setdefault(e.path, []).append(e)
        return await platform_page(request, _errors_for(request, forms.PLATFORM_FIELDS, found), form, 400)
    raise web.HTTPSeeOther("/platform")


async def _test_connection(request: web.Request, tested: PlatformConfig, form: Mapping[str, str]) -> web.Response:
    """Tests what is in the form, saved or not, without making the hub a tool against its secrets or its LAN.

    The saved password goes only to the saved broker: a login to the page must not be
    able to send it to a listener of its choosing. Every failure before the MQTT
    handshake reads the same, and tests are rate-limited, so the page is no port scanner.
    """
    hub: HubView = request.app[HUB]
    t = _t(request)
    saved = hub.config.platform
    typed = bool(form.get("platform.password", ""))
    if saved.password and not typed and (tested.host, tested.port, tested.tls) != (saved.host, saved.port, saved.tls):
        request.app[COUNTERS]["platform_test_needs_password"] += 1
        return await platform_page(request, posted=form, status=400,
                                   probe=(False, t("platform.test_password_again")))
    wait = request.app[PROBES].retry_after()
    if wait > 0:
        request.app[COUNTERS]["platform_test_refused"] += 1
        response = await platform_page(request, posted=form, status=429,
                                       probe=(False, t("platform.test_too_often", seconds=math.ceil(wait))))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    ok, detail = await hub.probe_platform(tested)
    request.app[COUNTERS]["platform_tests"] += 1
    if not ok and detail == NO_CONNECT:
        detail = t("platform.test_no_connect")
    return await platform_page(request, posted=form, probe=(ok, detail))


def _check_pem(name: str, data: bytes) -> str | None:
    """A message key when an uploaded file is not what its slot needs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        if name == "key_file":
            serialization.load_pem_private_key(data, password=None)
        else:
            x509.load_pem_x509_certificates(data)
    except TypeError:
        return "certs.error.encrypted"
    except ValueError:
        return "certs.error.not_pem_key" if name == "key_file" else "certs.error.not_pem_cert"
    return None


async def certificates_post(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    t = _t(request)
    data = await request.post()
    uploads: dict[str, bytes] = {}
    errors: dict[str, list[str]] = {}
    for name in CERT_NAMES:
        item = data.get(name)
        if item is None or isinstance(item, str | bytes | bytearray):
            continue
        content = item.file.read(MAX_PEM + 1)
        if not content:
            continue
        if len(content) > MAX_PEM:
            errors.setdefault(name, []).append(t("certs.error.too_big", kb=MAX_PEM // 1024))
            continue
        problem = _check_pem(name, content)
        if problem is not None:
            errors.setdefault(name, []).append(t(problem))
            continue
        uploads[name] = content
    removals = [name for name in CERT_NAMES if data.get(f"remove_{name}") == "on"]
    if errors or not (uploads or removals):
        if not errors:
            errors["_certs"] = [t("certs.error.nothing")]
        return await platform_page(request, errors=errors, status=400)
    directory = hub.state_dir / CERT_DIR
    changes_: dict[str, str] = {name: "" for name in removals}
    written: list[Path] = []
    for name, content in uploads.items():
        # A new name for new content: the files the uplink uses now are not touched until the
        # combined settings are valid and saved.
        target = directory / f"{name.removesuffix('_file')}-{hashlib.sha256(content).hexdigest()[:16]}.pem"
        if not target.exists():
            await asyncio.to_thread(write_atomic, target, content, 0o600)
            written.append(target)
        changes_[name] = str(target)
    try:
        new = forms.apply(hub.config, {"platform": changes_})
    except FormErrors as exc:
        # e.g. a client certificate without its key: say so, change nothing.
        await asyncio.to_thread(_remove, written)
        shown = {("_certs" if p.split(".")[-1] not in CERT_NAMES else p.split(".")[-1]):
                 [t("error.other", reason=e.allowed) for e in errs] for p, errs in exc.errors.items()}
        return await platform_page(request, errors=shown, status=400)
    try:
        await _save(request, new, "platform.certificates")
    except ConfigError as exc:  # files the TLS library refuses (the hub checks before saving)
        await asyncio.to_thread(_remove, written)
        return await platform_page(request, status=400, errors={
            "_certs": [t("error.other", reason=e.allowed) for e in exc.errors]})
    except BaseException:
        await asyncio.to_thread(_remove, written)
        raise
    # A removed key must not stay on the disk, nor the versions replaced just now.
    await asyncio.to_thread(_remove_unused_certs, directory, new.platform)
    raise web.HTTPSeeOther("/platform")


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _remove_unused_certs(directory: Path, p: PlatformConfig) -> None:
    """Files the page stored that the saved settings no longer name."""
    in_use = {Path(x) for x in (p.ca_file, p.cert_file, p.key_file) if x}
    try:
        stored = [f for f in directory.iterdir() if f.suffix == ".pem" and f.is_file()]
    except OSError:
        return
    _remove([f for f in stored if f not in in_use])
