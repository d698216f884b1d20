"""The RFLink gateway on a serial port: open, read, survive unplugging.

The port is configured by its ``/dev/serial/by-id/...`` path, which disappears
when the USB device is pulled and comes back with it; ``drivers/serial_link.py``
retries opening it with capped exponential backoff. A gateway
that is plugged in but hung prints nothing, which on a quiet night looks just
like a quiet home, so the driver also sends RFLink's ``10;PING;`` and reopens
the port when no ``PONG`` comes back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

import structlog

from detection.events import ButtonPress, Observation, Stamp
from drivers.rflink.codec import (
    Decoded,
    DeviceSpec,
    DeviceTable,
    Heard,
    LineFramer,
    Problem,
    RepeatFilter,
    decode_line,
)
from drivers.serial_link import SerialLink

log = structlog.get_logger("carehub.rflink")


BAD_LINE_LOG_S = 60.0


class _OncePerInterval:
    """A noisy radio can send garbage many times a second: each kind of bad line is counted
    always and logged once per interval, with how many were not logged since."""

    def __init__(self, interval_s: float = BAD_LINE_LOG_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._quiet: Counter[str] = Counter()

    def due(self, kind: str) -> int | None:
        """The number suppressed since the last line when ``kind`` may be logged now, else None."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval_s:
            self._quiet[kind] += 1
            return None
        self._last[kind] = now
        return self._quiet.pop(kind, 0)


class RflinkDriver:
    name = "rflink"

    def __init__(
        self,
        port: str,
        devices: Iterable[DeviceSpec],
        emit: Callable[[Observation], None],
        clock: Callable[[], Stamp],
        *,
        baudrate: int = 57600,
        on_heard: Callable[[Heard, Stamp], None] | None = None,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 30.0,
        ping_interval_s: float = 60.0,
        ping_timeout_s: float = 10.0,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        devices = list(devices)
        self._table = DeviceTable(devices)
        self._held = {d.id for d in devices if d.hold_frames}
        self._emit = emit
        self._clock = clock
        self._on_heard = on_heard
        self._ping_interval = ping_interval_s
        self._ping_timeout = ping_timeout_s
        self._repeats = RepeatFilter()
        self._pong = asyncio.Event()
        self.counters: Counter[str] = Counter()
        self._bad_log = _OncePerInterval()
        self.banner: dict[str, str] = {}
        self._framer = LineFramer()
        self._link = SerialLink(port, baudrate, self._data, log=log, name="rflink", counters=self.counters,
                                session=self._keepalive, on_open=self._opened, on_close=self._closed,
                                reopen_min_s=reopen_min_s, reopen_max_s=reopen_max_s)

    @property
    def connected(self) -> bool:
        return self._link.connected

    def update_devices(self, devices: Iterable[DeviceSpec]) -> None:
        """Apply a new device list live (the technician added a sensor)."""
        devices = list(devices)
        self._table = DeviceTable(devices)
        self._held = {d.id for d in devices if d.hold_frames}

    def status(self) -> dict[str, object]:
        return {
            "port": self.port,
            "connected": self.connected,
            "banner": dict(self.banner),
            "counters": dict(self.counters),
        }

    async def run(self) -> None:
        await self._link.run()

    def _opened(self) -> None:
        self._framer = LineFramer()  # a partial line from before the unplug is not half of the next one

    def _closed(self) -> None:
        self.counters["overlong"] += self._framer.overlong
        self._framer.overlong = 0

    def _data(self, data: bytes) -> None:
        for line in self._framer.feed(data):
            self._handle_line(line)

    async def _keepalive(self, transport: asyncio.Transport) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            self._pong.clear()
            transport.write(b"10;PING;\r\n")
            try:
                async with asyncio.timeout(self._ping_timeout):  # not wait_for: 3.11 can lose a cancel
                    await self._pong.wait()
            except TimeoutError:
                self.counters["ping_timeout"] += 1
                log.warning("rflink.no_pong", port=self.port, timeout_s=self._ping_timeout)
                transport.close()  # connection_lost -> reopen
                return

    def _handle_line(self, raw: bytes) -> None:
        self.counters["lines"] += 1
        at = self._clock()
        try:
            decoded = decode_line(raw, at, self._table)
        except Exception:  # the parser is third-party: no line may stop the hub
            self.counters["decode_crashed"] += 1
            if self._bad_log.due("decode_crashed") is not None:
                log.exception("rflink.decode_crashed", line=raw[:120].decode("latin-1"),
                              count=self.counters["decode_crashed"])
            decoded = Decoded(problem=Problem.MALFORMED)
        if decoded.problem is not None:
            self.counters[decoded.problem.value] += 1
            if decoded.problem is not Problem.UNKNOWN_DEVICE:
                suppressed = self._bad_log.due(decoded.problem.value)
                if suppressed is not None:
                    log.warning(
                        "rflink.bad_line", problem=decoded.problem.value, line=raw[:120].decode("latin-1"),
                        count=self.counters[decoded.problem.value], suppressed=suppressed,
                    )
        if decoded.info:
            if decoded.info.get("ping") == "pong":
                self._pong.set()
            elif "firmware" in decoded.info:
                self.banner = decoded.info
                log.info("rflink.banner", **decoded.info)
        if decoded.heard is not None and self._on_heard is not None:
            self._on_heard(decoded.heard, at)
        for obs in decoded.observations:
            if self._repeats.admit(obs):
                self.counters["observations"] += 1
                self._emit(obs)
            else:
                self.counters["repeats_folded"] += 1
                if isinstance(obs, ButtonPress) and obs.device in self._held:
                    self._emit(replace(obs, repeat=True))  # a held button's frames make its long press
