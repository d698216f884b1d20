"""mmWave radars on serial ports: open, read, survive unplugging and hangs.

Each radar is configured by its ``/dev/serial/by-id/...`` path, which vanishes
with the USB adapter and comes back with it, so the driver retries opening it
with capped, jittered exponential backoff (like drivers/rflink/transport.py).
An LD2410 reports about ten times a second, so a port that stays open but says
nothing for ``quiet_reopen_s`` is a hung adapter and is reopened; supervision
(``offline_after_s``) raises the technical alert if that does not help.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import serial
import serial_asyncio_fast
import structlog

from detection.events import Observation, Stamp
from drivers.radar.observations import BAUDRATES, RadarDecoder, RadarSpec

log = structlog.get_logger("carehub.radar")

BAD_FRAME_LOG_S = 60.0
_PROBLEMS = ("bad_length", "bad_trailer", "bad_payload", "bad_head_checksum", "bad_data_checksum")


class _Protocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self.on_data = on_data
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


class RadarDriver:
    """One radar on one port; ``run()`` emits its observations until cancelled."""

    def __init__(
        self,
        port: str,
        spec: RadarSpec,
        emit: Callable[[Observation], None],
        clock: Callable[[], Stamp],
        *,
        baudrate: int | None = None,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 30.0,
        quiet_reopen_s: float | None = None,
    ) -> None:
        self.port = port
        self.spec = spec
        self.baudrate = baudrate or BAUDRATES[spec.model]
        self._emit = emit
        self._clock = clock
        self._reopen_min = reopen_min_s
        self._reopen_max = reopen_max_s
        # Only the LD2410 is documented to report continuously; a quiet MR60FDA2 may just be a quiet room.
        self._quiet_reopen_s = quiet_reopen_s if quiet_reopen_s is not None else (
            30.0 if spec.model == "ld2410" else 0.0)
        self.decoder = RadarDecoder(spec)
        self.counters: Counter[str] = Counter()
        self.connected = False
        self._last_frame = time.monotonic()
        self._quiet_logged = False
        self._logged_at: dict[str, float] = {}
        self._logged_count: Counter[str] = Counter()

    def status(self) -> dict[str, Any]:
        return {"port": self.port, "model": self.spec.model, "room": self.spec.room, "connected": self.connected,
                "last_report": dict(self.decoder.last_report),
                "counters": dict(self.counters + self.decoder.counters)}

    async def run(self) -> None:
        delay = self._reopen_min
        failing_logged = False
        while True:
            try:
                transport, proto = await serial_asyncio_fast.create_serial_connection(
                    asyncio.get_running_loop(), lambda: _Protocol(self._handle),
                    url=self.port, baudrate=self.baudrate,
                )
            except (OSError, serial.SerialException, ValueError) as exc:
                self.counters["open_failed"] += 1
                if not failing_logged:  # once per outage, not once per retry
                    log.warning("radar.open_failed", radar=self.spec.id, port=self.port, error=str(exc),
                                retry_s=round(delay, 2))
                    failing_logged = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._reopen_max)
                continue
            self.connected = True
            failing_logged = False
            delay = self._reopen_min
            self.counters["opened"] += 1
            self._last_frame = time.monotonic()
            # While a hung radar is reopened every quiet_reopen_s, "radar.quiet" said so once.
            (log.debug if self._quiet_logged else log.info)(
                "radar.opened", radar=self.spec.id, port=self.port, model=self.spec.model)
            assert isinstance(proto, _Protocol)
            watchdog = asyncio.create_task(self._watch_quiet(transport)) if self._quiet_reopen_s > 0 else None
            try:
                lost = await proto.closed
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                    await asyncio.gather(watchdog, return_exceptions=True)
                transport.close()
            self.connected = False
            self.counters["lost"] += 1
            (log.debug if self._quiet_logged else log.warning)(
                "radar.lost", radar=self.spec.id, port=self.port, error=str(lost) if lost else "closed")
            await asyncio.sleep(self._reopen_min)

    async def _watch_quiet(self, transport: asyncio.Transport) -> None:
        while True:
            await asyncio.sleep(self._quiet_reopen_s / 4)
            if time.monotonic() - self._last_frame > self._quiet_reopen_s:
                self.counters["quiet_reopen"] += 1
                if not self._quiet_logged:  # once until a frame comes again, not every reopen
                    log.warning("radar.quiet", radar=self.spec.id, port=self.port, quiet_s=self._quiet_reopen_s)
                    self._quiet_logged = True
                transport.close()  # connection_lost -> reopen
                return

    def _handle(self, data: bytes) -> None:
        self.counters["bytes"] += len(data)
        before = self.decoder.counters["frames"]
        try:
            observations = self.decoder.feed(data, self._clock())
        except Exception:  # the codec is ours and tested, but no byte may stop the hub
            self.counters["decode_crashed"] += 1
            log.exception("radar.decode_crashed", radar=self.spec.id)
            self.decoder = RadarDecoder(self.spec)
            return
        if self.decoder.counters["frames"] != before:
            self._last_frame = time.monotonic()
            self._quiet_logged = False
        self._log_problems()
        for obs in observations:
            self.counters["observations"] += 1
            self._emit(obs)

    def _log_problems(self) -> None:
        """Garbage on the line is counted always and logged once a minute per kind."""
        now = time.monotonic()
        for kind in _PROBLEMS:
            count = self.decoder.counters[kind]
            if count == self._logged_count[kind]:
                continue
            last = self._logged_at.get(kind)
            if last is not None and now - last < BAD_FRAME_LOG_S:
                continue
            log.warning("radar.bad_frames", radar=self.spec.id, problem=kind, count=count,
                        since_last_log=count - self._logged_count[kind],
                        skipped_bytes=self.decoder.counters["skipped_bytes"])
            self._logged_at[kind] = now
            self._logged_count[kind] = count


class RadarGroup:
    """Every configured radar as one component: each radar reopens its own port by itself."""

    name = "radar"

    def __init__(self, drivers: Iterable[RadarDriver]) -> None:
        self.drivers = list(drivers)

    def status(self) -> dict[str, Any]:
        return {d.spec.id: d.status() for d in self.drivers}

    async def run(self) -> None:
        await asyncio.gather(*(d.run() for d in self.drivers))
