"""The RFLink gateway on a serial port: open, read, survive unplugging.

The port is configured by its ``/dev/serial/by-id/...`` path, which disappears
when the USB device is pulled and comes back with it, so the driver simply
retries opening the configured path with capped exponential backoff. A gateway
that is plugged in but hung prints nothing, which on a quiet night looks just
like a quiet home, so the driver also sends RFLink's ``10;PING;`` and reopens
the port when no ``PONG`` comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable

import serial
import serial_asyncio_fast
import structlog

from detection.events import Observation, Stamp
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

log = structlog.get_logger("carehub.rflink")


class _ExceptionOnOneLine(logging.Filter):
    """pyserial-asyncio-fast logs "Failed to flush serial connection" with a full traceback on
    every unplug; an unplug is expected and ``rflink.lost`` reports it, so its error text is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("serial_asyncio_fast").addFilter(_ExceptionOnOneLine())


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


class _LineProtocol(asyncio.Protocol):
    def __init__(self, on_line: Callable[[bytes], None]) -> None:
        self.framer = LineFramer()
        self.on_line = on_line
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for line in self.framer.feed(data):
            self.on_line(line)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


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
        self._table = DeviceTable(devices)
        self._emit = emit
        self._clock = clock
        self._on_heard = on_heard
        self._reopen_min = reopen_min_s
        self._reopen_max = reopen_max_s
        self._ping_interval = ping_interval_s
        self._ping_timeout = ping_timeout_s
        self._repeats = RepeatFilter()
        self._pong = asyncio.Event()
        self.counters: Counter[str] = Counter()
        self._bad_log = _OncePerInterval()
        self.connected = False
        self.banner: dict[str, str] = {}

    def update_devices(self, devices: Iterable[DeviceSpec]) -> None:
        """Apply a new device list live (the technician added a sensor)."""
        self._table = DeviceTable(devices)

    def status(self) -> dict[str, object]:
        return {
            "port": self.port,
            "connected": self.connected,
            "banner": dict(self.banner),
            "counters": dict(self.counters),
        }

    async def run(self) -> None:
        delay = self._reopen_min
        failing_logged = False
        while True:
            try:
                transport, proto = await serial_asyncio_fast.create_serial_connection(
                    asyncio.get_running_loop(),
                    lambda: _LineProtocol(self._handle_line),
                    url=self.port,
                    baudrate=self.baudrate,
                )
            except (OSError, serial.SerialException, ValueError) as exc:
                self.counters["open_failed"] += 1
                if not failing_logged:  # once per outage, not once per retry
                    log.warning("rflink.open_failed", port=self.port, error=str(exc), retry_s=round(delay, 2))
                    failing_logged = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._reopen_max)
                continue

            self.connected = True
            failing_logged = False
            self.counters["opened"] += 1
            log.info("rflink.opened", port=self.port)
            delay = self._reopen_min
            assert isinstance(proto, _LineProtocol)
            pinger = asyncio.create_task(self._keepalive(transport))
            try:
                lost = await proto.closed
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
                transport.close()
                self.counters["overlong"] += proto.framer.overlong
                proto.framer.overlong = 0
            self.connected = False
            self.counters["lost"] += 1
            log.warning("rflink.lost", port=self.port, error=str(lost) if lost else "closed")
            await asyncio.sleep(self._reopen_min)

    async def _keepalive(self, transport: asyncio.Transport) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            self._pong.clear()
            transport.write(b"10;PING;\r\n")
            try:
                await asyncio.wait_for(self._pong.wait(), self._ping_timeout)
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
