"""bleak really scanning, through our BleakRadio, against a mock BlueZ on a private D-Bus.

A private dbus-daemon stands in for the system bus; python-dbusmock's bluez5
template provides org.bluez. The template lacks the adapter's ``Roles``
property, which the test adds through dbusmock's own ``AddProperty``. The
device is added after scanning starts, as a real advertisement would appear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration
SYSTEM_PY = "/usr/bin/python3"
ADDR = "C0:FF:EE:00:00:01"

SETUP = """
import sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
step = sys.argv[2]
mock = bus.get_object("org.bluez", "/org/bluez")
if step == "adapter":
    mock.AddAdapter("hci0", "carehub-hub", dbus_interface="org.bluez.Mock")
    adapter = bus.get_object("org.bluez", "/org/bluez/hci0")
    adapter.AddProperty("org.bluez.Adapter1", "Roles", dbus.Array(["central", "peripheral"], signature="s"),
                        dbus_interface="org.freedesktop.DBus.Mock")
else:
    # The template's own AddDevice types ManufacturerData as an array (BlueZ: a{qv}), which bleak
    # rejects; add the device with BlueZ's real property types through dbusmock's generic AddObject.
    address = sys.argv[3]
    path = "/org/bluez/hci0/dev_" + address.replace(":", "_")
    props = {
        "Address": address, "AddressType": "public", "Name": "carehub pendant", "Alias": "carehub pendant",
        "Adapter": dbus.ObjectPath("/org/bluez/hci0"), "Paired": False, "Bonded": False, "Trusted": False,
        "Blocked": False, "Connected": False, "LegacyPairing": False, "ServicesResolved": False,
        "RSSI": dbus.Int16(-60),
        "UUIDs": dbus.Array(["6f3e0001-8b5a-4c3e-9b1f-2f6c1d0a9e01"], signature="s"),
        "ManufacturerData": dbus.Dictionary({}, signature="qv"),
        "ServiceData": dbus.Dictionary({}, signature="sv"),
    }
    props = dbus.Dictionary(props, signature="sv")
    root = bus.get_object("org.bluez", "/")
    root.AddObject(path, "org.bluez.Device1", props, dbus.Array([], signature="(ssss)"),
                   dbus_interface="org.freedesktop.DBus.Mock")
    # AddObject does not announce the object: say it as BlueZ does, then an RSSI update as a new
    # advertisement would bring.
    root.EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "oa{sa{sv}}",
                    [dbus.ObjectPath(path), dbus.Dictionary({"org.bluez.Device1": props}, signature="sa{sv}")],
                    dbus_interface="org.freedesktop.DBus.Mock")
    dev = bus.get_object("org.bluez", path)
    dev.EmitSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                   ["org.bluez.Device1", dbus.Dictionary({"RSSI": dbus.Int16(-58)}, signature="sv"),
                    dbus.Array([], signature="s")],
                   dbus_interface="org.freedesktop.DBus.Mock")
"""

SCAN = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from drivers.ble.bluez import BleakRadio

async def main():
    seen = []
    radio = BleakRadio("hci0")
    await radio.start_scan(lambda a: seen.append([a.address, a.name, a.rssi]))
    print("SCANNING", flush=True)
    await asyncio.sleep(float(sys.argv[2]))
    await radio.stop_scan()
    print(json.dumps(seen), flush=True)

asyncio.run(main())
"""


def _can_run() -> str | None:
    if not shutil.which("dbus-daemon"):
        return "dbus-daemon is not installed (Debian package dbus)"
    if not Path(SYSTEM_PY).exists():
        return "no system python3 for python3-dbusmock"
    probe = subprocess.run([SYSTEM_PY, "-c", "import dbusmock, dbus"], capture_output=True)
    if probe.returncode != 0:
        return "python3-dbusmock (and python3-dbus) are not installed"
    return None


@pytest.fixture
def mock_bluez(tmp_path):
    reason = _can_run()
    if reason:
        pytest.skip(f"cannot run a mock BlueZ here: {reason}")
    sock = tmp_path / "system_bus"
    conf = tmp_path / "bus.conf"
    conf.write_text(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={sock}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/>
<allow receive_sender="*"/><allow eavesdrop="true"/></policy></busconfig>""")
    daemon = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    address = f"unix:path={sock}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["DBUS_SYSTEM_BUS_ADDRESS"] = address
    mock = None
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        else:
            pytest.skip(f"the private D-Bus did not start: {daemon.stderr.read().decode() if daemon.stderr else ''}")
        mock = subprocess.Popen([SYSTEM_PY, "-m", "dbusmock", "--system", "--template", "bluez5"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            done = subprocess.run([SYSTEM_PY, "-c", SETUP, address, "adapter"], env=env, capture_output=True)
            if done.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"mock BlueZ did not come up: {done.stderr.decode()[-500:]}")
        yield address, env
    finally:
        if mock is not None:
            mock.terminate()
            mock.wait(5)
        daemon.terminate()
        daemon.wait(5)


def test_bleak_scan_finds_a_wearable_on_mock_bluez(mock_bluez):
    address, env = mock_bluez
    scan_env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
    scanner = subprocess.Popen([sys.executable, "-c", SCAN, str(REPO), "4"], env=scan_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert scanner.stdout is not None
    first = scanner.stdout.readline()
    assert first.strip() == "SCANNING", first + (scanner.stderr.read() if scanner.stderr else "")
    added = subprocess.run([SYSTEM_PY, "-c", SETUP, address, "device", ADDR], env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr[-800:]
    out, err = scanner.communicate(timeout=30)
    seen = json.loads(out.strip().splitlines()[-1])
    assert any(a.upper() == ADDR for a, _, _ in seen), err
