"""The wearable driver against a scripted radio: streams, reconnects, scanner watchdog, no BlueZ."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from detection.events import AccelBatch, ButtonPress, DeviceStatus, Observation, Stamp
from drivers.ble import bluez
from drivers.ble.driver import Advert, WearableDriver, WearableSpec, explain
from drivers.ble.profiles.carehub import ACCEL_BATCH, BUTTON, encode_accel, encode_button
from drivers.ble.profiles.sig import BATTERY_LEVEL

ADDR = "C0:FF:EE:00:00:01"
SPEC = WearableSpec("pendant", ADDR, "carehub", "neck")


class FakeLink:
    def __init__(self, radio: FakeRadio) -> None:
        self.radio = radio
        self.callbacks: dict[str, Callable[[bytes], None]] = {}

    async def start_notify(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        self.callbacks[uuid] = callback

    async def read(self, uuid: str) -> bytes:
        return {BUTTON: encode_button(self.radio.presses), BATTERY_LEVEL: b"\x50"}[uuid]

    async def write(self, uuid: str, data: bytes) -> None:
        pass

    async def disconnect(self) -> None:
        pass


class FakeRadio:
    """Scripted: connect fails ``fail_connects`` times, then works; adverts on demand."""

    def __init__(self, fail_connects: int = 0) -> None:
        self.fail_connects = fail_connects
        self.on_advert: Callable[[Advert], None] | None = None
        self.links: list[FakeLink] = []
        self.lost: Callable[[], None] | None = None
        self.presses = 3
        self.scans = 0
        self.stops = 0

    async def start_scan(self, on_advert: Callable[[Advert], None]) -> None:
        self.scans += 1
        self.on_advert = on_advert

    async def stop_scan(self) -> None:
        self.stops += 1

    async def connect(self, address: str, on_disconnect: Callable[[], None], attempt_timeout_s: float) -> FakeLink:
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise TimeoutError
        self.lost = on_disconnect
        link = FakeLink(self)
        self.links.append(link)
        return link

    def advertise(self) -> None:
        assert self.on_advert is not None
        self.on_advert(Advert(ADDR, "pendant", -60.0))


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> Stamp:
        return Stamp(self.t, self.t)


async def until(cond: Callable[[], bool], within_s: float = 3.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def driver(radio: FakeRadio, out: list[Observation], clock: Clock | None = None, **kw: float) -> WearableDriver:
    return WearableDriver([SPEC], lambda: radio, out.append, clock or Clock(), backoff_min_s=0.01,
                          backoff_max_s=0.05, call_timeout_s=1.0, **kw)


async def test_notifications_become_observations_and_old_presses_are_not_replayed():
    radio, out = FakeRadio(), []
    task = asyncio.create_task(driver(radio, out).run())
    await until(lambda: radio.on_advert is not None)
    radio.advertise()
    await until(lambda: bool(radio.links) and ACCEL_BATCH in radio.links[-1].callbacks)
    link = radio.links[-1]
    link.callbacks[ACCEL_BATCH](encode_accel(1, 50.0, np.tile([0, 0, 1000], (10, 1))))
    link.callbacks[BUTTON](encode_button(3))  # the press made before we connected: history
    link.callbacks[BUTTON](encode_button(4))
    batches = [o for o in out if isinstance(o, AccelBatch)]
    assert len(batches) == 1 and batches[0].fs == 50.0 and batches[0].placement == "neck"
    assert [o.action.value for o in out if isinstance(o, ButtonPress)] == ["help"]
    statuses = [o for o in out if isinstance(o, DeviceStatus)]
    assert any(s.connected is True for s in statuses) and any(s.battery_pct == 80.0 for s in statuses)
    task.cancel()


async def test_lost_link_reconnects_with_backoff_after_failures():
    radio, out = FakeRadio(fail_connects=2), []
    drv = driver(radio, out)
    task = asyncio.create_task(drv.run())
    await until(lambda: radio.on_advert is not None)
    for _ in range(3):
        radio.advertise()
        await asyncio.sleep(0.1)
    await until(lambda: drv.counters["connects"] == 1)
    assert drv.counters["connect_failed"] == 2
    assert radio.lost is not None
    radio.lost()  # the wearable walked out of range
    await until(lambda: any(isinstance(o, DeviceStatus) and o.connected is False for o in out))
    radio.advertise()
    await until(lambda: drv.counters["connects"] == 2)
    task.cancel()


async def test_scanner_is_restarted_when_adverts_stop():
    radio, out, clock = FakeRadio(), [], Clock()
    drv = driver(radio, out, clock, scan_stale_s=0.2)
    task = asyncio.create_task(drv.run())
    await until(lambda: radio.scans == 1)
    clock.t += 10  # no advertisement for a long while, wearable not connected
    await until(lambda: radio.scans >= 2, within_s=5)
    assert drv.counters["scanner_restarts"] >= 1 and radio.stops >= 1
    task.cancel()


async def test_no_dbus_is_explained_once_and_retried():
    out: list[Observation] = []
    attempts = []

    class NoBus(FakeRadio):
        async def start_scan(self, on_advert: Callable[[Advert], None]) -> None:
            attempts.append(1)
            raise FileNotFoundError(2, "No such file or directory", "/run/dbus/system_bus_socket")

    drv = WearableDriver([SPEC], NoBus, out.append, Clock(), radio_retry_s=0.05)
    task = asyncio.create_task(drv.run())
    await until(lambda: len(attempts) >= 3)
    assert drv.radio_problem is not None and "D-Bus" in drv.radio_problem
    task.cancel()


def test_explanations():
    assert "BlueZ is busy" in explain(Exception("org.bluez.Error.InProgress"))
    assert "no answer" in explain(TimeoutError())


@pytest.mark.parametrize("name", ["pendant", None])
async def test_bleak_radio_turns_recorded_adverts_into_adverts(monkeypatch, name):
    seen: list[Advert] = []

    class RecordedScanner:
        def __init__(self, detection_callback, **kwargs):
            self.cb = detection_callback
            self.kwargs = kwargs

        async def start(self):
            device = BLEDevice(ADDR, "pendant-dev", {"path": "/org/bluez/hci0/dev_C0_FF_EE_00_00_01"})
            adv = AdvertisementData(local_name=name, manufacturer_data={}, service_data={},
                                    service_uuids=["6f3e0001-8b5a-4c3e-9b1f-2f6c1d0a9e01"], tx_power=None, rssi=-61,
                                    platform_data=())
            self.cb(device, adv)

        async def stop(self):
            pass

    monkeypatch.setattr(bluez, "BleakScanner", RecordedScanner)
    radio = bluez.BleakRadio("hci1")
    await radio.start_scan(seen.append)
    assert seen == [Advert(ADDR, name or "pendant-dev", -61.0)]
    assert radio._scanner is not None and radio._scanner.kwargs["bluez"] == {"adapter": "hci1"}
    with pytest.raises(LookupError):
        await radio.connect("00:00:00:00:00:00", lambda: None, 1.0)
