"""A serial port that reopens itself: the transport shared by the serial device families.

RFLink, the radars and a cellular modem are all configured by a
``/dev/serial/by-id/...`` path, which vanishes when the USB adapter is pulled and
comes back with it. So the link simply retries opening the configured path with
capped, jittered exponential backoff, says once per outage that it cannot, and
after a loss waits ``reopen_min_s`` before trying again. A family adds what it
needs while the port is open (RFLink's ``PING``, the LD2410's quiet watchdog, a
modem's AT dialogue) as a ``session`` coroutine: it runs for as long as the port
is open, may write through the transport, and may close the transport to force a
reopen; it is cancelled when the port is lost.

Counters (in the ``counters`` given): ``opened``, ``lost``, ``open_failed``.
Log events: ``<name>.opened``, ``<name>.lost``, ``<name>.open_failed``, with ``fields``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import serial
import serial_asyncio_fast


class _ExceptionOnOneLine(logging.Filter):
    """pyserial-asyncio-fast logs "Failed to flush serial connection" with a full traceback on
    every unplug; an unplug is expected and ``<name>.lost`` reports it, so its error text is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("serial_asyncio_fast").addFilter(_ExceptionOnOneLine())


class _Protocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self.on_data = on_data
        self.closed: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


Session = Callable[[asyncio.Transport], Coroutine[Any, Any, None]]
SESSION_STOP_S = 5.0  # how long a session may take to end once the port is closed


class SerialLink:
    """``run()`` keeps ``port`` open until cancelled, handing every chunk read to ``on_data``.

    ``on_open()`` runs before the first byte of each opening (reset a framer), ``on_close()``
    after each loss; ``quiet()`` true turns the opened/lost lines to debug (a hung device reopened
    every few seconds has said so once already).
    """

    def __init__(
        self,
        port: str,
        baudrate: int,
        on_data: Callable[[bytes], None],
        *,
        log: Any,
        name: str,
        fields: Mapping[str, object] | None = None,
        counters: Counter[str] | None = None,
        session: Session | None = None,
        on_open: Callable[[], None] | None = None,
        on_close: Callable[[], None] | None = None,
        quiet: Callable[[], bool] | None = None,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 30.0,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.connected = False
        self._on_data = on_data
        self._log = log
        self._name = name
        self._fields = dict(fields or {})
        self._session = session
        self._on_open = on_open
        self._on_close = on_close
        self._quiet = quiet or (lambda: False)
        self._reopen_min = reopen_min_s
        self._reopen_max = reopen_max_s
        self._transport: asyncio.Transport | None = None

    def write(self, data: bytes) -> bool:
        """Write to the open port; False (nothing written) while it is closed."""
        if self._transport is None or self._transport.is_closing():
            return False
        self._transport.write(data)
        return True

    async def run(self) -> None:
        delay = self._reopen_min
        failing_logged = False
        while True:
            try:
                transport, proto = await serial_asyncio_fast.create_serial_connection(
                    asyncio.get_running_loop(), lambda: _Protocol(self._on_data),
                    url=self.port, baudrate=self.baudrate,
                )
            except (OSError, serial.SerialException, ValueError) as exc:
                self.counters["open_failed"] += 1
                if not failing_logged:  # once per outage, not once per retry
                    self._log.warning(f"{self._name}.open_failed", **self._fields, port=self.port,
                                      error=str(exc), retry_s=round(delay, 2))
                    failing_logged = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._reopen_max)
                continue
            assert isinstance(transport, asyncio.Transport) and isinstance(proto, _Protocol)
            self.connected = True
            failing_logged = False
            delay = self._reopen_min
            self.counters["opened"] += 1
            self._transport = transport
            if self._on_open is not None:
                self._on_open()
            (self._log.debug if self._quiet() else self._log.info)(
                f"{self._name}.opened", **self._fields, port=self.port)
            session: asyncio.Task[None] | None = (
                asyncio.create_task(self._session(transport)) if self._session is not None else None)
            try:
                lost = await proto.closed
            finally:
                if session is not None:
                    session.cancel()
                    # Bounded: a session that lost its cancellation (Python 3.11's wait_for can)
                    # must not keep the port closed for ever.
                    await asyncio.wait({session}, timeout=SESSION_STOP_S)
                    if not session.done():
                        self.counters["session_stuck"] += 1
                        self._log.error(f"{self._name}.session_stuck", **self._fields, port=self.port)
                    elif not session.cancelled():
                        session.exception()  # retrieved: its end is the port's, already logged
                transport.close()
                self._transport = None
                self.connected = False
                if self._on_close is not None:
                    self._on_close()
            self.counters["lost"] += 1
            (self._log.debug if self._quiet() else self._log.warning)(
                f"{self._name}.lost", **self._fields, port=self.port, error=str(lost) if lost else "closed")
            await asyncio.sleep(self._reopen_min)
