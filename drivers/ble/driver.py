"""Keeping a live link to each configured wearable, whatever BlueZ does.

The driver scans for the configured addresses, connects to each one it sees,
subscribes to its profile's notifications and turns them into observations.
Every radio call has a time limit (BlueZ calls can hang); a lost link is
retried with capped, jittered backoff; a scanner that stops delivering
advertisements (a well-known BlueZ hang on the Pi, or an adapter powered off
mid-scan) is restarted; and when there is no D-Bus, no BlueZ or no adapter the
driver says so once, plainly, and keeps retrying slowly while the rest of the
hub runs. The radio itself is behind two small interfaces (``Radio``, ``Link``):
bleak in production (``drivers/ble/bluez.py``), a loopback to the wearable
emulator in the demo (``drivers/ble/loopback.py``), a script in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from detection.events import DeviceStatus, Observation, Stamp
from drivers.ble.profiles import ProfileDecoder
from drivers.ble.profiles.carehub import BUTTON, CarehubDecoder
from drivers.ble.profiles.health import METER_PROFILES, HealthDecoder
from drivers.ble.profiles.microbit import ACCELEROMETER_PERIOD, PERIOD_MS, MicrobitDecoder
from drivers.ble.profiles.pinetime import PineTimeDecoder
from drivers.ble.profiles.sig import BATTERY_LEVEL, HeartRateDecoder

log = structlog.get_logger("carehub.ble")
METER_SCAN_STALE_S = 900.0  # a BlueZ scanner hang costs a meter at most this (it resends stored readings)


@dataclass(frozen=True)
class WearableSpec:
    id: str
    address: str
    profile: str  # carehub, heart_rate, microbit, pinetime, pulse_oximeter, thermometer, blood_pressure, weight_scale
    placement: str


@dataclass(frozen=True)
class Advert:
    address: str
    name: str | None
    rssi: float | None


class Link(Protocol):
    async def start_notify(self, uuid: str, callback: Callable[[bytes], None]) -> None: ...

    async def read(self, uuid: str) -> bytes: ...

    async def write(self, uuid: str, data: bytes) -> None: ...

    async def disconnect(self) -> None: ...


class Radio(Protocol):
    async def start_scan(self, on_advert: Callable[[Advert], None]) -> None: ...

    async def stop_scan(self) -> None: ...

    async def connect(self, address: str, on_disconnect: Callable[[], None], attempt_timeout_s: float) -> Link: ...


def make_decoder(spec: WearableSpec) -> ProfileDecoder:
    if spec.profile == "carehub":
        return CarehubDecoder(spec.id, spec.placement)
    if spec.profile == "microbit":
        return MicrobitDecoder(spec.id, spec.placement)
    if spec.profile == "pinetime":
        return PineTimeDecoder(spec.id, spec.placement)
    if spec.profile == "heart_rate":
        return HeartRateDecoder(spec.id)
    if spec.profile in METER_PROFILES:
        return HealthDecoder(spec.id, [spec.profile])
    raise ValueError(f"unknown wearable profile {spec.profile!r}")


@dataclass
class _State:
    spec: WearableSpec
    seen: asyncio.Event
    connected: bool = False
    last_rssi: float | None = None
    last_notification_t: float | None = None
    decoder: ProfileDecoder | None = None


class WearableDriver:
    name = "ble"

    def __init__(
        self,
        wearables: list[WearableSpec],
        radio_factory: Callable[[], Radio],
        emit: Callable[[Observation], None],
        clock: Callable[[], Stamp],
        *,
        call_timeout_s: float = 20.0,
        scan_stale_s: float = 120.0,
        backoff_min_s: float = 2.0,
        backoff_max_s: float = 120.0,
        radio_retry_s: float = 60.0,
    ) -> None:
        self._states = {w.address.upper(): _State(w, asyncio.Event()) for w in wearables}
        self._radio_factory = radio_factory
        self._emit = emit
        self._clock = clock
        self._timeout = call_timeout_s
        self._scan_stale = scan_stale_s
        self._backoff = (backoff_min_s, backoff_max_s)
        self._radio_retry = radio_retry_s
        self._radio: Radio | None = None
        self._last_advert_t: float | None = None
        self.radio_problem: str | None = None
        self.counters: Counter[str] = Counter()
        # Every advertiser heard lately, configured or not: the installer's scan shows these.
        self.nearby: dict[str, tuple[Advert, float]] = {}

    def status(self) -> dict[str, Any]:
        return {
            "radio_problem": self.radio_problem,
            "counters": dict(self.counters),
            "wearables": {
                s.spec.id: {"connected": s.connected, "rssi": s.last_rssi,
                            "decoder": dict(s.decoder.counters) if s.decoder else {}}
                for s in self._states.values()
            },
        }

    def heard_since(self, t: float) -> list[Advert]:
        """Advertisers heard at or after monotonic time ``t``, strongest first."""
        found = [adv for adv, at in self.nearby.values() if at >= t]
        return sorted(found, key=lambda a: -(a.rssi if a.rssi is not None else -999.0))

    async def run(self) -> None:
        links = [asyncio.create_task(self._link_loop(s)) for s in self._states.values()]
        try:
            await self._radio_loop()
        finally:
            for task in links:
                task.cancel()
            await asyncio.gather(*links, return_exceptions=True)

    # --- the adapter and its scanner ----------------------------------------------

    async def _radio_loop(self) -> None:
        while True:
            try:
                radio = self._radio_factory()
                async with asyncio.timeout(self._timeout):
                    await radio.start_scan(self._on_advert)
            except Exception as exc:  # no D-Bus, no BlueZ, no adapter, adapter off...
                self._radio = None
                self.counters["radio_unavailable"] += 1
                problem = explain(exc)
                if problem != self.radio_problem:
                    log.error("ble.unavailable", problem=problem, retry_s=self._radio_retry)
                    self.radio_problem = problem
                await asyncio.sleep(self._radio_retry)
                continue
            if self.radio_problem is not None:
                log.info("ble.available")
            self.radio_problem = None
            self._radio = radio
            self._last_advert_t = self._clock().t
            log.info("ble.scanning", wearables=len(self._states))
            await self._watch_scanner(radio)

    async def _watch_scanner(self, radio: Radio) -> None:
        """Return when the scanner must be restarted: adverts stopped for too long."""
        while True:
            await asyncio.sleep(min(10.0, self._scan_stale / 4))
            quiet = self._clock().t - (self._last_advert_t or 0.0)
            # While every wearable is connected, silence from the scanner is normal. A meter is away
            # between measurements, so its absence alone restarts the scanner only rarely, and quietly.
            worn_away = any(not s.connected and s.spec.profile not in METER_PROFILES for s in self._states.values())
            any_away = any(not s.connected for s in self._states.values())
            limit = self._scan_stale if worn_away else max(self._scan_stale, METER_SCAN_STALE_S)
            if quiet > limit and any_away:
                self.counters["scanner_restarts"] += 1
                (log.warning if worn_away else log.info)("ble.scanner_restart", quiet_s=round(quiet, 1))
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self._timeout):
                        await radio.stop_scan()
                return

    def _on_advert(self, advert: Advert) -> None:
        now = self._clock().t
        self._last_advert_t = now
        self.counters["adverts"] += 1
        key = advert.address.upper()
        if len(self.nearby) >= 500 and key not in self.nearby:
            # A busy street of phones and tags must not grow memory: forget the stalest half.
            for address, _ in sorted(self.nearby.items(), key=lambda kv: kv[1][1])[:250]:
                del self.nearby[address]
        self.nearby[key] = (advert, now)
        state = self._states.get(advert.address.upper())
        if state is not None:
            state.last_rssi = advert.rssi
            state.seen.set()

    # --- one wearable --------------------------------------------------------------

    async def _link_loop(self, state: _State) -> None:
        delay = self._backoff[0]
        spec = state.spec
        while True:
            await state.seen.wait()
            radio = self._radio
            if radio is None:
                state.seen.clear()
                continue
            lost = asyncio.Event()
            link: Link | None = None
            try:
                async with asyncio.timeout(self._timeout):
                    link = await radio.connect(spec.address, lost.set, self._timeout)
                await self._subscribe(state, link)
            except Exception as exc:
                self.counters["connect_failed"] += 1
                log.warning("ble.connect_failed", wearable=spec.id, error=explain(exc), retry_s=round(delay, 1))
                if link is not None:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self._timeout):
                            await link.disconnect()
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff[1])
                state.seen.clear()
                continue
            delay = self._backoff[0]
            state.connected = True
            self.counters["connects"] += 1
            log.info("ble.connected", wearable=spec.id, profile=spec.profile)
            self._emit(DeviceStatus(device=spec.id, at=self._clock(), connected=True, rssi=state.last_rssi))
            try:
                await lost.wait()
            finally:
                state.connected = False
            self.counters["disconnects"] += 1
            log.warning("ble.disconnected", wearable=spec.id)
            self._emit(DeviceStatus(device=spec.id, at=self._clock(), connected=False))
            state.seen.clear()

    async def _subscribe(self, state: _State, link: Link) -> None:
        decoder = make_decoder(state.spec)
        state.decoder = decoder
        if isinstance(decoder, CarehubDecoder):
            # Presses made while we were away are history, not live calls: start from the current counter.
            async with asyncio.timeout(self._timeout):
                decoder.sync_button(await link.read(BUTTON))
        if isinstance(decoder, MicrobitDecoder):
            async with asyncio.timeout(self._timeout):
                await link.write(ACCELEROMETER_PERIOD, PERIOD_MS.to_bytes(2, "little"))
        for uuid in decoder.notify_uuids():
            try:
                async with asyncio.timeout(self._timeout):
                    await link.start_notify(uuid, self._handler(decoder, uuid))
            except Exception:
                if uuid == BATTERY_LEVEL:
                    self.counters["no_battery_service"] += 1  # optional: not every device has it
                    continue
                raise
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._timeout):
                level = await link.read(BATTERY_LEVEL)
            self._deliver(decoder, BATTERY_LEVEL, level)

    def _handler(self, decoder: ProfileDecoder, uuid: str) -> Callable[[bytes], None]:
        return lambda data: self._deliver(decoder, uuid, data)

    def _deliver(self, decoder: ProfileDecoder, uuid: str, data: bytes) -> None:
        self.counters["notifications"] += 1
        for obs in decoder.decode(uuid, bytes(data), self._clock()):
            self._emit(obs)


def explain(exc: BaseException) -> str:
    """What a technician needs to read about a Bluetooth failure."""
    text = f"{type(exc).__name__}: {exc}".strip()
    lowered = text.lower()
    no_bus = "system_bus_socket" in lowered or ("dbus" in lowered and "connect" in lowered)
    if isinstance(exc, FileNotFoundError) or no_bus:
        return f"the system D-Bus is not reachable (is dbus running?): {text}"
    if "org.freedesktop.dbus.error.serviceunknown" in lowered or ("bluez" in lowered and "unknown" in lowered):
        return f"BlueZ is not running (systemctl start bluetooth): {text}"
    if "no bluetooth adapters" in lowered or ("adapter" in lowered and "not found" in lowered):
        return f"no Bluetooth adapter (check ble.adapter, rfkill, the Pi's dtoverlay): {text}"
    if "inprogress" in lowered:
        return f"BlueZ is busy with another operation (org.bluez.Error.InProgress): {text}"
    if isinstance(exc, TimeoutError):
        return "no answer from BlueZ in time"
    return text
