"""mmWave radars on serial ports: open, read, survive unplugging and hangs.

Each radar is configured by its ``/dev/serial/by-id/...`` path, which vanishes
with the USB adapter and comes back with it, so ``drivers/serial_link.py`` retries
opening it with capped, jittered exponential backoff (as for RFLink).
An LD2410 reports about ten times a second, so a port that stays open but says
nothing for ``quiet_reopen_s`` is a hung adapter and is reopened; supervision
(``offline_after_s``) raises the technical alert if that does not help.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from detection.events import Observation, Stamp
from drivers.radar.observations import BAUDRATES, RadarDecoder, RadarSpec
from drivers.serial_link import SerialLink

log = structlog.get_logger("carehub.radar")

BAD_FRAME_LOG_S = 60.0
_PROBLEMS = ("bad_length", "bad_trailer", "bad_payload", "bad_head_checksum", "bad_data_checksum")


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
        # Only the LD2410 is documented to report continuously; a quiet MR60FDA2 may just be a quiet room.
        self._quiet_reopen_s = quiet_reopen_s if quiet_reopen_s is not None else (
            30.0 if spec.model == "ld2410" else 0.0)
        self.decoder = RadarDecoder(spec)
        self.counters: Counter[str] = Counter()
        self._last_frame = time.monotonic()
        # While a hung radar is reopened every quiet_reopen_s, "radar.quiet" said so once.
        self._quiet_logged = False
        self._link = SerialLink(
            port, self.baudrate, self._handle, log=log, name="radar",
            fields={"radar": spec.id, "model": spec.model}, counters=self.counters,
            session=self._watch_quiet if self._quiet_reopen_s > 0 else None, on_open=self._opened,
            quiet=lambda: self._quiet_logged, reopen_min_s=reopen_min_s, reopen_max_s=reopen_max_s)
        self._logged_at: dict[str, float] = {}
        self._logged_count: Counter[str] = Counter()

    def status(self) -> dict[str, Any]:
        return {"port": self.port, "model": self.spec.model, "room": self.spec.room, "connected": self.connected,
                "last_report": dict(self.decoder.last_report),
                "counters": dict(self.counters + self.decoder.counters)}

    @property
    def connected(self) -> bool:
        return self._link.connected

    async def run(self) -> None:
        await self._link.run()

    def _opened(self) -> None:
        self._last_frame = time.monotonic()

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
