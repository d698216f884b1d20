"""``carehub doctor``: check this hub and say what to fix.

One line per check: OK, WARN or FAIL, and for anything not OK what to do.
Exits 1 when any check FAILs, so installers and scripts can use it.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gateway.config import DEFAULT_PATH, Config


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # OK, WARN, FAIL
    text: str


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the broker")


def check_config(path: Path) -> tuple[Check, Config | None]:
    from gateway.config import ConfigError, load

    try:
        cfg = load(path)
    except FileNotFoundError:
        return Check("config", "FAIL", f"{path} does not exist: copy config/carehub.example.toml there"), None
    except PermissionError:
        return Check("config", "FAIL", f"{path} is not readable by this user: run as root or carehub"), None
    except ConfigError as exc:
        return Check("config", "FAIL", f"{path} is invalid: " + "; ".join(str(e) for e in exc.errors)), None
    return Check("config", "OK", f"{path}: {len(cfg.devices)} radio devices, {len(cfg.wearables)} wearables"), cfg


def check_storage(cfg: Config) -> list[Check]:
    db = Path(cfg.storage.path)
    folder = db.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    out = []
    if not os.access(existing, os.W_OK):
        out.append(Check("storage", "FAIL", f"{existing} is not writable by this user: the hub cannot keep alerts"))
    else:
        out.append(Check("storage", "OK", f"{db} is writable"))
    free_mb = shutil.disk_usage(existing).free / 1e6
    if free_mb < 50:
        out.append(Check("disk", "FAIL", f"only {free_mb:.0f} MB free on {existing}: free space on the SD card"))
    elif free_mb < 500:
        out.append(Check("disk", "WARN", f"{free_mb:.0f} MB free on {existing}: getting low"))
    else:
        out.append(Check("disk", "OK", f"{free_mb:.0f} MB free"))
    return out


def check_serial(cfg: Config) -> Check:
    if not cfg.rflink.enabled:
        return Check("rflink", "OK", "disabled in the config")
    port = cfg.rflink.port
    if not os.path.exists(port):
        candidates = sorted(glob.glob("/dev/serial/by-id/*")) + sorted(glob.glob("/dev/rflink*"))
        hint = (f" Plugged-in serial devices: {', '.join(candidates)}" if candidates
                else " No serial device is plugged in.")
        return Check("rflink", "FAIL", f"{port} does not exist: plug the RFLink gateway in or fix rflink.port.{hint}")
    if not os.access(port, os.R_OK | os.W_OK):
        return Check("rflink", "FAIL", f"{port} is not readable and writable by this user: add it to group dialout")
    return Check("rflink", "OK", f"{port} -> {os.path.realpath(port)}")


def check_web(cfg: Config) -> Check:
    if not cfg.web.enabled:
        return Check("web", "OK", "the technician's page is disabled in the config")
    state = Path(cfg.storage.path).parent
    scheme = "https" if cfg.web.https else "http"
    where = f"{scheme}://<this hub>:{cfg.web.port}/"
    try:
        password_set = (state / "web-password").exists()
    except PermissionError:
        return Check("web", "WARN", f"cannot read {state}: run as root to check the page's set-up")
    if not password_set:
        return Check("web", "WARN", f"no technician password yet: open {where}setup with the code from "
                                    "'sudo carehub setup-code'")
    return Check("web", "OK", f"{where} (bind {cfg.web.bind}), technician password set")


def check_bluetooth(cfg: Config) -> Check:
    if not cfg.ble.enabled:
        return Check("bluetooth", "OK", "disabled in the config")
    adapter = Path("/sys/class/bluetooth") / cfg.ble.adapter
    if not adapter.exists():
        return Check("bluetooth", "FAIL", f"no adapter {cfg.ble.adapter}: is the Bluetooth chip enabled "
                     "(dtoverlay) and bluez installed?")
    if not Path("/run/dbus/system_bus_socket").exists():
        return Check("bluetooth", "FAIL", "the system D-Bus is not running: bleak talks to BlueZ over D-Bus")
    for rfkill in glob.glob("/sys/class/rfkill/rfkill*"):
        try:
            kind = Path(rfkill, "type").read_text().strip()
            if kind == "bluetooth" and Path(rfkill, "soft").read_text().strip() == "1":
                return Check("bluetooth", "FAIL", "Bluetooth is soft-blocked: rfkill unblock bluetooth")
        except OSError:
            continue
    return Check("bluetooth", "OK", f"adapter {cfg.ble.adapter} present")


def check_broker(cfg: Config, timeout: float) -> list[Check]:
    from gateway.config.validation import is_loopback_host
    from gateway.platform_settings import platform_file_errors
    from gateway.probe import probe_broker

    p = cfg.platform
    out = [Check("tls", "FAIL", f"{e.path} {e.value}: not {e.allowed}") for e in platform_file_errors(p)]
    if not p.tls and not is_loopback_host(p.host):
        # Alerts, the person's whereabouts and the broker password would cross the network in the clear.
        out.append(Check("tls", "FAIL", f"plaintext MQTT to {p.host}, a broker on another machine: "
                         "set platform.tls = true (port 8883) and platform.ca_file"))
    if any(c.level == "FAIL" for c in out):
        return out
    ok, text = asyncio.run(probe_broker(p, timeout))
    where = f"{'mqtts' if p.tls else 'mqtt'}://{p.host}:{p.port}"
    if ok:
        out.append(Check("broker", "OK", f"{where}: {text}"))
    else:
        out.append(Check("broker", "FAIL", f"{where}: {text}: check platform.host/port, the network, "
                         "credentials and certificates"))
    return out


def check_clock() -> list[Check]:
    from gateway.pi_health import clock_synced, read_pi_health

    out = [Check("clock", "OK", "synchronised") if clock_synced() else
           Check("clock", "WARN", "not synchronised yet (no real-time clock?): alert times are flagged "
                 "clock_synced=false until NTP syncs; check network and systemd-timesyncd")]
    health = read_pi_health()
    if health.get("under_voltage_now") or health.get("under_voltage_since_boot"):
        out.append(Check("power", "WARN", "under-voltage detected: use the official 5.1 V power supply"))
    if health.get("throttled_now") or (health.get("soc_temp_c") or 0) > 80:
        out.append(Check("temperature", "WARN", f"the SoC is hot or throttled ({health.get('soc_temp_c')} °C): "
                         "give the hub air"))
    return out


def run(args: argparse.Namespace) -> int:
    checks: list[Check] = []
    first, cfg = check_config(args.config)
    checks.append(first)
    if cfg is not None:
        checks += check_storage(cfg)
        checks.append(check_serial(cfg))
        checks.append(check_bluetooth(cfg))
        checks.append(check_web(cfg))
        checks += check_broker(cfg, args.timeout)
    checks += check_clock()
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.level:<4}  {c.name:<{width}}  {c.text}")
    failed = sum(c.level == "FAIL" for c in checks)
    print(f"\n{failed} problem(s) to fix" if failed else "\nall checks passed")
    return 1 if failed else 0
