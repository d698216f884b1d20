"""The cellular modem on its AT port: send SMS, receive SMS, watch SIM, signal and registration.

The port reopens itself (drivers/serial_link.py). While it is open a session sets the
modem up (echo off, numeric errors, PDU mode, new SMS stored and announced by ``+CMTI``,
registration changes announced), polls its status every ``status_interval_s``, and reads
every incoming SMS: on ``+CMTI`` at once, and by listing the storage at each poll, so an
SMS whose ``+CMTI`` was lost in line noise, or that came while the hub was off, is read
too. An SMS is deleted from the modem only after ``on_sms`` returned: a hub that dies in
between reads it again. A concatenated SMS's parts stay stored until the whole is handled.

A modem that stops answering gets an ESC and a new setup; after three silent attempts
in a row the port is closed and reopened. A modem that restarts by itself (``RDY``) is
set up again. Nothing a modem says stops the hub: unknown lines are counted, and logged
once per ``garbage_log_interval_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import structlog

from drivers.modem import at
from drivers.modem.channel import ESC, AtChannel
from drivers.modem.inbox import Inbox
from drivers.modem.pdu import PduError, encode_submit
from drivers.modem.types import UNKNOWN_STATUS, IncomingSms, ModemError, ModemStatus
from drivers.serial_link import SerialLink

log = structlog.get_logger("carehub.modem")

# Set-up, in order; the optional ones are not understood by every firmware.
SETUP = (("ATE0", True), ("AT+CMEE=1", True), ("AT+CMGF=0", True), ('AT+CSCS="IRA"', False),
         ("AT+CNMI=2,1,0,0,0", True), ("AT+CREG=1", False), ("AT+CEREG=1", False))
SILENT_BEFORE_REOPEN = 3
MAX_QUEUED_READS = 64
_T = TypeVar("_T")


class Modem:
    name = "modem"

    def __init__(self, port: str, *, baudrate: int = 115200,
                 on_sms: Callable[[IncomingSms], None],
                 on_status: Callable[[ModemStatus], None] | None = None,
                 status_interval_s: float = 60.0, command_timeout_s: float = 10.0,
                 send_timeout_s: float = 60.0, reopen_min_s: float = 0.5, reopen_max_s: float = 30.0,
                 garbage_log_interval_s: float = 60.0, part_max_age_s: float = 900.0) -> None:
        self.port = port
        self.counters: Counter[str] = Counter()
        self._on_status = on_status
        self._interval = status_interval_s
        self._timeout = command_timeout_s
        self._send_timeout = send_timeout_s
        self._garbage_interval = garbage_log_interval_s
        self._garbage_logged_at: float | None = None
        self._garbage_quiet = 0
        self._status = UNKNOWN_STATUS
        self._registrations: dict[str, str] = {}
        self._channel = AtChannel(self._write, self._unsolicited, self.counters)
        self._link = SerialLink(port, baudrate, self._channel.feed, log=log, name="modem",
                                counters=self.counters, session=self._session, on_open=self._opened,
                                on_close=self._closed, quiet=lambda: self._silent >= SILENT_BEFORE_REOPEN,
                                reopen_min_s=reopen_min_s, reopen_max_s=reopen_max_s)
        self._inbox = Inbox(self._cmd, on_sms, self.counters, self._garbage, part_max_age_s=part_max_age_s)
        self._concat_ref = random.randrange(256)
        self._wake: asyncio.Event | None = None
        self._reads: dict[tuple[str, int], None] = {}  # queued +CMTI, in order, each once
        self._ready = asyncio.Event()  # set up: echo off, PDU mode, +CMTI on
        self._next_poll = 0.0
        self._silent = 0
        self._setup_error_logged: str | None = None

    @property
    def status(self) -> ModemStatus:
        return self._status

    @property
    def _set_up(self) -> bool:
        return self._ready.is_set()

    @_set_up.setter
    def _set_up(self, value: bool) -> None:
        if value:
            self._ready.set()
        else:
            self._ready.clear()

    async def run(self) -> None:
        await self._link.run()

    # --- sending --------------------------------------------------------------------------

    async def send_sms(self, number: str, text: str) -> list[int]:
        """Send ``text`` (split into concatenated parts when long); the message reference of each part."""
        status = self._status
        if not self._link.connected:
            raise ModemError("closed", self.port)
        if status.sim in ("absent", "pin_required"):
            raise ModemError("no_sim", status.sim)
        if status.registration in ("searching", "denied", "not_registered"):
            raise ModemError("not_registered", status.registration)
        try:
            parts = encode_submit(number, text, concat_ref=self._next_ref())
        except (PduError, ValueError) as exc:
            raise ModemError("invalid", str(exc)) from exc
        if not self._set_up:
            # Just restarted or answering again: a modem that came back in text mode would take
            # AT+CMGS=<n> for a phone number, so the PDU waits for the set-up.
            try:
                async with asyncio.timeout(self._timeout):  # not wait_for: see channel._wait
                    await self._ready.wait()
            except TimeoutError:
                raise ModemError("timeout", "the modem is not set up yet") from None
        references: list[int] = []
        for part in parts:
            try:
                references.append(await self._channel.submit(
                    part.tpdu_length, part.pdu, prompt_timeout=self._timeout, send_timeout=self._send_timeout))
            except ModemError as exc:
                self.counters["send_failed"] += 1
                if exc.reason == "timeout":
                    self._lost_answer()
                log.warning("modem.send_failed", reason=exc.reason, part=part.seq, parts=part.total,
                            sent_parts=len(references))
                raise ModemError(exc.reason, exc.detail, sent_parts=references) from exc
            self.counters["sent_parts"] += 1
        self.counters["sent"] += 1
        log.info("modem.sent", parts=len(parts), references=references)
        return references

    def _next_ref(self) -> int:
        self._concat_ref = (self._concat_ref + 1) % 256
        return self._concat_ref

    # --- the session while the port is open ----------------------------------------------

    async def _session(self, transport: asyncio.Transport) -> None:
        self._wake = asyncio.Event()
        self._set_up = False
        self._next_poll = 0.0
        while True:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # a cancellation swallowed below is still one
                raise asyncio.CancelledError
            try:
                if not self._set_up:
                    await self._setup()
                if time.monotonic() >= self._next_poll:
                    await self._poll()
                    if self._set_up:
                        await self._inbox.sweep()
                    await self._inbox.expire()
                    self._next_poll = time.monotonic() + self._interval
                while self._reads and self._set_up:
                    memory, index = next(iter(self._reads))  # oldest first
                    del self._reads[(memory, index)]
                    await self._inbox.read(memory, index)
                self._answered()
                self._wake.clear()
                if not self._reads or not self._set_up:
                    await self._sleep_until(self._next_poll)
            except ModemError as exc:
                if exc.reason == "closed":
                    return  # the link is losing the port and cancels this session
                if exc.reason != "timeout":
                    raise  # _poll and _setup take a modem's errors; anything else is a bug
                if self._answer_lost(transport):
                    return
                await asyncio.sleep(min(self._timeout, 2.0))
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not leave a port open and nobody reading it
                self.counters["session_crashed"] += 1
                log.exception("modem.session_crashed", port=self.port)
                transport.close()
                return

    async def _sleep_until(self, deadline: float) -> None:
        assert self._wake is not None
        delay = max(0.0, deadline - time.monotonic())
        if not self._set_up:
            delay = min(delay, max(5.0, self._interval / 4))  # retry a failed set-up sooner
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):  # not wait_for: see channel._wait
                await self._wake.wait()

    def _answer_lost(self, transport: asyncio.Transport) -> bool:
        """After a timeout: set up again, or after too many in a row reopen the port (True)."""
        self._lost_answer()
        self._silent += 1
        if self._silent == 1:
            log.warning("modem.no_answer", port=self.port, timeout_s=self._timeout)
        if self._silent >= SILENT_BEFORE_REOPEN:
            # Said once; a modem that stays hung is retried every timeout without a line each time.
            self.counters["silent_reopens"] += 1
            (log.warning if self._silent == SILENT_BEFORE_REOPEN else log.debug)(
                "modem.reopening", port=self.port, silent=self._silent)
            transport.close()
            return True
        return False

    def _answered(self) -> None:
        if self._silent:
            log.info("modem.answering_again", port=self.port, after_timeouts=self._silent)
            self._silent = 0

    def _lost_answer(self) -> None:
        self._set_up = False
        self._next_poll = 0.0  # once it answers again, say so at once
        if self._status.connected:
            self._publish(replace(self._status, connected=False))
        if self._wake is not None:
            self._wake.set()

    async def _setup(self) -> None:
        self.counters["setups"] += 1
        self._write(ESC)  # a modem left at the "> " prompt (by a hub that died mid-send) takes commands again
        await self._cmd("AT")  # a timeout here means nobody answers at all
        for command, required in SETUP:
            try:
                await self._cmd(command)
            except ModemError as exc:
                if exc.reason in ("timeout", "closed"):
                    raise
                if required:
                    # SMS commands fail until the SIM is ready ("+CMS ERROR: 500" while it boots, or
                    # no SIM at all): status polling goes on, the set-up is tried again.
                    if self._setup_error_logged != exc.reason:
                        log.warning("modem.setup_failed", command=command, reason=exc.reason)
                        self._setup_error_logged = exc.reason
                    return
        self._set_up = True
        self._inbox.reset()
        self._setup_error_logged = None
        log.info("modem.ready", port=self.port)

    async def _cmd(self, command: str, prefixes: tuple[str, ...] = ()) -> list[str]:
        return await self._channel.command(command, within_s=self._timeout, prefixes=prefixes)

    async def _poll(self) -> None:
        sim = await self._query("AT+CPIN?", "+CPIN:", at.parse_cpin, error_value=at.sim_state_from_error)
        csq = await self._query("AT+CSQ", "+CSQ:", at.parse_csq)
        for command, prefix in (("AT+CREG?", "+CREG:"), ("AT+CEREG?", "+CEREG:")):
            reg = await self._query(command, prefix, at.parse_registration)
            if reg is not None:
                self._registrations[reg.source] = reg.name
        operator = await self._query("AT+COPS?", "+COPS:", at.parse_cops)
        rssi, dbm = csq if csq is not None else (None, None)
        self._publish(ModemStatus(sim or "unknown", at.best_registration(*self._registrations.values()),
                                  dbm, rssi, operator, True, time.monotonic()))

    async def _query(self, command: str, prefix: str, parse: Callable[[str], _T],
                     error_value: Callable[[str], _T | None] | None = None) -> _T | None:
        try:
            lines = await self._cmd(command, (prefix,))
        except ModemError as exc:
            if exc.reason in ("timeout", "closed"):
                raise
            return error_value(exc.reason) if error_value is not None else None
        for line in lines:
            try:
                return parse(line)
            except at.AtError:
                self._garbage(line)
        return None

    def _publish(self, status: ModemStatus) -> None:
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("modem.on_status_failed")

    def _opened(self) -> None:
        self._channel.reset()
        if self.counters["opened"] > 1:
            self.counters["reopens"] += 1

    def _closed(self) -> None:
        self._channel.close()
        self._set_up = False
        self._registrations.clear()
        self._publish(replace(self._status, connected=False, registration="unknown"))

    def _write(self, data: bytes) -> bool:
        return self._link.write(data)

    # --- lines nobody asked for -----------------------------------------------------------

    def _unsolicited(self, line: str) -> None:
        """Called from the serial protocol's data_received: nothing may escape it (asyncio would
        close the port over it)."""
        try:
            self._route(line)
        except Exception:
            self.counters["urc_crashed"] += 1
            if self.counters["urc_crashed"] == 1:
                log.exception("modem.urc_crashed", line=line[:80])

    def _route(self, line: str) -> None:
        kind = at.classify(line)
        try:
            if kind == "cmti":
                if len(self._reads) < MAX_QUEUED_READS:  # beyond that the next sweep finds them
                    self._reads[at.parse_cmti(line)] = None
                self._poke()
            elif kind == "registration":
                reg = at.parse_registration(line)
                self._registrations[reg.source] = reg.name
                best = at.best_registration(*self._registrations.values())
                if best != self._status.registration:
                    log.info("modem.registration", registration=best, source=reg.source)
                    self._publish(replace(self._status, registration=best))
            elif kind == "cpin":
                sim = at.parse_cpin(line)
                if sim != self._status.sim:
                    self._publish(replace(self._status, sim=sim))
                if sim == "ready" and not self._set_up:
                    self._poke()  # the SMS commands the set-up needs work from now on
            elif kind == "boot":
                self.counters["modem_restarts"] += 1
                log.warning("modem.restarted", port=self.port)
                self._lost_answer()
            elif kind == "ignored":
                self.counters["urc_ignored"] += 1
            elif kind == "result":
                self.counters["late_results"] += 1
            else:
                self._garbage(line)
        except at.AtError:
            self._garbage(line)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _garbage(self, line: str) -> None:
        self.counters["garbage_lines"] += 1
        now = time.monotonic()
        if self._garbage_logged_at is not None and now - self._garbage_logged_at < self._garbage_interval:
            self._garbage_quiet += 1
            return
        log.warning("modem.garbage", line=line[:80], count=self.counters["garbage_lines"],
                    not_logged=self._garbage_quiet)
        self._garbage_logged_at = now
        self._garbage_quiet = 0
